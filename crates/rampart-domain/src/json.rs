//! Reading JSON input strictly: every place that expects an object (a struct, a
//! struct-shaped enum variant, an internally tagged enum) takes an object and nothing
//! else, at every depth.
//!
//! serde's derived `Deserialize` for a struct also accepts an array of its fields in
//! order (`["arrayorg", "Array Org", null]` reads as `{"identifier": "arrayorg", …}`),
//! which no client of this API means and no document of it describes. [`from_slice`]
//! reads like `serde_json::from_slice` through an adapter ([`Strict`]) that wraps the
//! deserializer and every nested one, and refuses a JSON array wherever the type being
//! read is object-shaped. Everything else (unknown fields, duplicate fields, types,
//! positions in error messages) is serde_json's own.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, Unexpected, Visitor};

/// Reads `T` from JSON text, refusing an array wherever `T` (or anything inside it)
/// expects an object. Syntax errors are told apart as serde_json tells them
/// ([`serde_json::Error::classify`]).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(Strict(&mut deserializer))?;
    deserializer.end()?;
    Ok(value)
}

/// Reads `T` from a parsed JSON value (a part of a body kept as a value, such as a
/// schedule's definition), with [`from_slice`]'s rule.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, serde_json::Error> {
    T::deserialize(Strict(value))
}

/// A deserializer whose object-shaped reads refuse arrays, and whose nested
/// deserializers are wrapped alike.
pub struct Strict<D>(pub D);

/// A visitor, seed or access wrapped so that what it hands out is wrapped too.
struct Wrap<T> {
    inner: T,
    /// The value being read is object-shaped: an array is refused.
    object_only: bool,
}

impl<T> Wrap<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            object_only: false,
        }
    }

    fn object(inner: T) -> Self {
        Self {
            inner,
            object_only: true,
        }
    }
}

/// The text a visitor gives for what it expects (`struct OrgCreate`, `internally tagged
/// enum LayerRestriction`).
struct Expecting<'a, V>(&'a V);

impl<'de, V: Visitor<'de>> fmt::Display for Expecting<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
}

/// Whether a visitor reached through `deserialize_any` reads an object-shaped value:
/// an internally tagged enum buffers its content through `deserialize_any`, and serde
/// would read its tag from the first element of an array.
fn expects_object<'de, V: Visitor<'de>>(visitor: &V) -> bool {
    let expecting = Expecting(visitor).to_string();
    expecting.starts_with("internally tagged enum") || expecting.starts_with("struct ")
}

macro_rules! forward_deserialize {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                self.0.$method(Wrap::new(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_option
        deserialize_unit deserialize_seq deserialize_map deserialize_identifier
        deserialize_ignored_any
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let object_only = expects_object(&visitor);
        self.0.deserialize_any(Wrap {
            inner: visitor,
            object_only,
        })
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_unit_struct(name, Wrap::new(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_newtype_struct(name, Wrap::new(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple(len, Wrap::new(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0
            .deserialize_tuple_struct(name, len, Wrap::new(visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0
            .deserialize_struct(name, fields, Wrap::object(visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, Wrap::new(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty))*) => {
        $(
            fn $method<E: de::Error>(self, value: $ty) -> Result<Self::Value, E> {
                self.inner.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(formatter)
    }

    forward_visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char) visit_str(&str)
        visit_borrowed_str(&'de str) visit_string(String) visit_bytes(&[u8])
        visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_some(Strict(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        self.inner.visit_newtype_struct(Strict(deserializer))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        if self.object_only {
            return Err(de::Error::invalid_type(Unexpected::Seq, &self));
        }
        self.inner.visit_seq(Wrap::new(seq))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(Wrap::new(map))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_enum(Wrap::new(data))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Wrap<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.inner.deserialize(Strict(deserializer))
    }
}

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.inner.next_element_seed(Wrap::new(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        self.inner.next_key_seed(Wrap::new(seed))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner.next_value_seed(Wrap::new(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for Wrap<A> {
    type Error = A::Error;
    type Variant = Wrap<A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), Self::Error> {
        let (value, variant) = self.inner.variant_seed(Wrap::new(seed))?;
        Ok((value, Wrap::new(variant)))
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), Self::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        self.inner.newtype_variant_seed(Wrap::new(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner.tuple_variant(len, Wrap::new(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner.struct_variant(fields, Wrap::object(visitor))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Create {
        identifier: String,
        name: String,
        #[serde(default)]
        description: Option<String>,
        #[serde(default)]
        layers: Vec<Layer>,
        #[serde(default)]
        labels: BTreeMap<String, String>,
        #[serde(default)]
        pair: Option<(u32, u32)>,
        #[serde(default)]
        inner: Option<Box<Create>>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Layer {
        name: String,
        #[serde(default)]
        restrictions: Vec<Restriction>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
    enum Restriction {
        Daily { start: String, end: String },
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum External {
        Unit,
        Shaped { at: u32 },
    }

    fn strict<T: DeserializeOwned>(json: &str) -> Result<T, String> {
        from_slice(json.as_bytes()).map_err(|error| error.to_string())
    }

    #[test]
    fn objects_read_as_serde_json_reads_them() {
        let json = r#"{"identifier": "a", "name": "A", "layers": [{"name": "l",
            "restrictions": [{"type": "daily", "start": "09:00", "end": "17:00"}]}],
            "labels": {"k": "v"}, "pair": [1, 2], "inner": {"identifier": "b", "name": "B"}}"#;
        let ours: Create = strict(json).unwrap();
        let theirs: Create = serde_json::from_str(json).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.layers[0].restrictions.len(), 1);
        assert_eq!(
            strict::<Vec<External>>(r#"["unit", {"shaped": {"at": 3}}]"#).unwrap(),
            [External::Unit, External::Shaped { at: 3 }]
        );
        let value: serde_json::Value = strict(r#"[1, {"a": [2]}]"#).unwrap();
        assert_eq!(value, serde_json::json!([1, {"a": [2]}]));
    }

    #[test]
    fn an_array_is_refused_wherever_an_object_is_expected() {
        for json in [
            // The issue's case: a struct from an array of its fields.
            r#"["arrayorg", "Array Org", null]"#,
            r#"{"identifier": "a", "name": "A", "layers": [["l", []]]}"#,
            r#"{"identifier": "a", "name": "A", "layers": [{"name": "l", "restrictions": [["daily", "09:00", "17:00"]]}]}"#,
            r#"{"identifier": "a", "name": "A", "inner": ["b", "B"]}"#,
        ] {
            let error = strict::<Create>(json).unwrap_err();
            assert!(
                error.contains("invalid type: sequence"),
                "{json} is refused as an array: {error}"
            );
            // serde_json alone takes it (the hole this module closes).
            assert!(serde_json::from_str::<Create>(json).is_ok(), "{json}");
        }
        let error = strict::<Vec<External>>(r#"[{"shaped": [3]}]"#).unwrap_err();
        assert!(error.contains("invalid type: sequence"), "{error}");
        // A part kept as a value and read later, alike.
        let layers =
            serde_json::json!([{"name": "l", "restrictions": [["daily", "09:00", "17:00"]]}]);
        let error = from_value::<Vec<Layer>>(layers.clone()).unwrap_err();
        assert!(
            error.to_string().contains("invalid type: sequence"),
            "{error}"
        );
        assert!(serde_json::from_value::<Vec<Layer>>(layers).is_ok());
        let fine = serde_json::json!([{"name": "l", "restrictions": [{"type": "daily", "start": "09:00", "end": "17:00"}]}]);
        assert_eq!(from_value::<Vec<Layer>>(fine).unwrap().len(), 1);
    }

    #[test]
    fn other_errors_are_serde_jsons() {
        let unknown = strict::<Create>(r#"{"identifier": "a", "name": "A", "nmae": 1}"#);
        assert!(unknown.unwrap_err().contains("unknown field `nmae`"));
        let duplicate = strict::<Create>(r#"{"identifier": "a", "name": "A", "name": "B"}"#);
        assert!(duplicate.unwrap_err().contains("duplicate field `name`"));
        let trailing = from_slice::<Create>(br#"{"identifier": "a", "name": "A"} x"#);
        assert_eq!(
            trailing.unwrap_err().classify(),
            serde_json::error::Category::Syntax
        );
        let truncated = from_slice::<Create>(br#"{"identifier": "a""#);
        assert_eq!(
            truncated.unwrap_err().classify(),
            serde_json::error::Category::Eof
        );
        let typed = from_slice::<Create>(br#"{"identifier": 1, "name": "A"}"#);
        assert_eq!(
            typed.unwrap_err().classify(),
            serde_json::error::Category::Data
        );
    }
}
