//! The price catalogue compiled into the binary (`../price_catalogue.json`): how each
//! resource type is priced (its components, the attributes they read) and the dated price
//! tables they look prices up in, each with its public source.
//!
//! The file is parsed and checked once ([`PriceCatalogue::builtin`]); a table a component
//! names must exist, every price must be a plain decimal, every table must have a source
//! and a date. `scripts/prices/regenerate.py` rewrites the prices from the providers'
//! public price APIs and keeps the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::money::Decimal;

/// The catalogue as checked into the repository.
const BUILTIN_CATALOGUE_JSON: &str = include_str!("../price_catalogue.json");

/// The only catalogue format this code reads.
const CATALOGUE_FORMAT: u32 = 1;

/// Why a catalogue was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the price catalogue is invalid: {0}")]
pub struct CatalogueError(pub String);

/// What one price in a table buys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceUnit {
    /// Per hour; a month is [`PriceCatalogue::hours_per_month`] hours.
    Hour,
    /// Per month.
    Month,
    /// Per GB and month.
    GbMonth,
    /// Per provisioned IOPS and month.
    IopsMonth,
}

impl PriceUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Month => "month",
            Self::GbMonth => "GB-month",
            Self::IopsMonth => "IOPS-month",
        }
    }
}

fn decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    let text = String::deserialize(deserializer)?;
    Decimal::parse(&text)
        .ok_or_else(|| de::Error::custom(format!("{text:?} is not a plain decimal price")))
}

fn decimal_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, BTreeMap<String, Decimal>>, D::Error> {
    let raw = BTreeMap::<String, BTreeMap<String, String>>::deserialize(deserializer)?;
    raw.into_iter()
        .map(|(region, prices)| {
            let prices = prices
                .into_iter()
                .map(|(key, text)| {
                    Decimal::parse(&text)
                        .map(|price| (key, price))
                        .ok_or_else(|| {
                            de::Error::custom(format!("{text:?} is not a plain decimal price"))
                        })
                })
                .collect::<Result<_, _>>()?;
            Ok((region, prices))
        })
        .collect()
}

fn optional_decimal<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Decimal>, D::Error> {
    decimal(deserializer).map(Some)
}

/// One band of a tiered price: up to `up_to` units (GB), `price`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub up_to: u64,
    #[serde(deserialize_with = "decimal")]
    pub price: Decimal,
}

/// A table of prices by region and key (`instance_type`, `sku_tier`, … or `*` for a
/// price that has no key), or of tiers by region and key.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    pub unit: PriceUnit,
    /// The public price list the prices come from (`{region}` stands for the region).
    pub source: String,
    /// The day the prices are attributed to (`YYYY-MM-DD`).
    pub date: String,
    #[serde(default)]
    pub note: Option<String>,
    /// Region → key → price.
    #[serde(default, deserialize_with = "decimal_map")]
    pub regions: BTreeMap<String, BTreeMap<String, Decimal>>,
    /// Region → key → tiers, smallest first: the first tier whose `up_to` holds the
    /// quantity prices it.
    #[serde(default)]
    pub tiers: BTreeMap<String, BTreeMap<String, Vec<Tier>>>,
    /// A tier's price is per unit of quantity (otherwise it is the price of the tier).
    #[serde(default)]
    pub per_unit: bool,
}

impl PriceTable {
    pub fn has_region(&self, region: &str) -> bool {
        self.regions.contains_key(region) || self.tiers.contains_key(region)
    }
}

/// Where a component finds the key of its price.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// One attribute path (`instance_type`, `boot_disk.0.initialize_params.0.type`).
    #[serde(default)]
    pub attribute: Option<String>,
    /// Several attributes, joined with `/` (`engine/instance_class`).
    #[serde(default)]
    pub attributes: Vec<String>,
    /// A fixed key.
    #[serde(default)]
    pub constant: Option<String>,
    /// Used when the attribute is absent or unknown until apply (recorded as an
    /// assumption on the component).
    #[serde(default)]
    pub default: Option<String>,
    /// `"free"`: a key the table lacks means the component does not apply (gp2 volumes
    /// have no IOPS charge), instead of an unpriced resource.
    #[serde(default)]
    pub other_keys: Option<String>,
}

/// A quantity read from an attribute (`volume_size`), optionally divided (`storage_mb`
/// / 1024).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantitySpec {
    pub attribute: String,
    #[serde(default, deserialize_with = "optional_decimal")]
    pub divide_by: Option<Decimal>,
    #[serde(default, deserialize_with = "optional_decimal")]
    pub default: Option<Decimal>,
}

/// A factor read from an attribute: a number (`num_cache_nodes`) or a value mapped
/// through `factors` (`multi_az`: true → 2).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiplierSpec {
    #[serde(default)]
    pub attribute: Option<String>,
    /// The first of these that is set gives the factor.
    #[serde(default)]
    pub attributes: Vec<String>,
    #[serde(default)]
    pub factors: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "optional_decimal")]
    pub default: Option<Decimal>,
}

/// A condition on an attribute for a component to apply.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenSpec {
    pub attribute: String,
    /// The attribute is (not) a non-empty list, object or string.
    #[serde(default)]
    pub non_empty: Option<bool>,
    /// The attribute is one of these.
    #[serde(default)]
    pub equals: Vec<String>,
    /// The attribute starts with one of these.
    #[serde(default)]
    pub prefix: Vec<String>,
    /// The value assumed when the attribute is absent.
    #[serde(default)]
    pub default: Option<String>,
}

/// One priced part of a resource.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    pub name: String,
    pub table: String,
    #[serde(default)]
    pub key: Option<KeySpec>,
    #[serde(default)]
    pub quantity: Option<QuantitySpec>,
    #[serde(default)]
    pub multiplier: Option<MultiplierSpec>,
    /// Priced once per element of this list attribute (`ebs_block_device`); the other
    /// paths are read inside the element.
    #[serde(default)]
    pub each: Option<String>,
    #[serde(default)]
    pub when: Option<WhenSpec>,
    /// When this component cannot be priced, the rest of the resource still is (the
    /// failure is listed on the resource): the attached disks of a machine, whose size
    /// is often known only after apply. Otherwise the whole resource is unpriced.
    #[serde(default)]
    pub optional: bool,
}

/// A usage-based charge: its list price per unit, never counted in a total.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageSpec {
    pub name: String,
    pub unit: String,
    #[serde(deserialize_with = "decimal")]
    pub price: Decimal,
    #[serde(default)]
    pub note: Option<String>,
}

/// How one resource type is priced.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// Attributes that name the region, in order (`availability_zone`, `location`, …);
    /// the provider configuration's `region` is the fallback.
    #[serde(default)]
    pub region: Vec<String>,
    #[serde(default)]
    pub components: Vec<ComponentSpec>,
    #[serde(default)]
    pub usage: Vec<UsageSpec>,
    #[serde(default)]
    pub usage_source: Option<String>,
    #[serde(default)]
    pub usage_date: Option<String>,
    /// Priced exactly as another type (`aws_alb` is `aws_lb`).
    #[serde(default)]
    pub same_as: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// The whole catalogue.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceCatalogue {
    pub format: u32,
    pub currency: String,
    /// The day the catalogue's prices are attributed to.
    pub date: String,
    pub hours_per_month: u64,
    pub about: String,
    /// Types that cost nothing by themselves (IAM, networks, random values): listed as
    /// free, not as unpriced.
    pub free_types: BTreeSet<String>,
    pub price_tables: BTreeMap<String, PriceTable>,
    pub resources: BTreeMap<String, ResourceSpec>,
}

fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        })
}

impl PriceCatalogue {
    /// Reads and checks a catalogue.
    pub fn parse(text: &str) -> Result<Self, CatalogueError> {
        let catalogue: Self =
            serde_json::from_str(text).map_err(|error| CatalogueError(error.to_string()))?;
        catalogue.check()?;
        Ok(catalogue)
    }

    /// The catalogue compiled into the binary, parsed once.
    pub fn builtin() -> Result<&'static Self, CatalogueError> {
        static BUILTIN: OnceLock<Result<PriceCatalogue, CatalogueError>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| Self::parse(BUILTIN_CATALOGUE_JSON))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The resource spec for a type, following `same_as`.
    pub fn resource(&self, resource_type: &str) -> Option<&ResourceSpec> {
        let spec = self.resources.get(resource_type)?;
        match &spec.same_as {
            Some(other) => self.resources.get(other),
            None => Some(spec),
        }
    }

    fn check(&self) -> Result<(), CatalogueError> {
        let fail = |message: String| Err(CatalogueError(message));
        if self.format != CATALOGUE_FORMAT {
            return fail(format!(
                "format {} (this build reads {CATALOGUE_FORMAT})",
                self.format
            ));
        }
        if self.currency != "USD" || !is_date(&self.date) || self.hours_per_month == 0 {
            return fail("currency must be USD, date YYYY-MM-DD, hours_per_month > 0".into());
        }
        for (name, table) in &self.price_tables {
            if table.source.is_empty()
                || !table.source.starts_with("https://")
                || !is_date(&table.date)
            {
                return fail(format!(
                    "table {name}: every price needs an https source and a date"
                ));
            }
            if table.regions.is_empty() == table.tiers.is_empty() {
                return fail(format!("table {name}: give either regions or tiers"));
            }
            for tiers in table.tiers.values().flat_map(BTreeMap::values) {
                if tiers.is_empty()
                    || tiers
                        .windows(2)
                        .any(|pair| matches!(pair, [a, b] if a.up_to >= b.up_to))
                {
                    return fail(format!("table {name}: tiers must be non-empty and grow"));
                }
            }
        }
        for (resource_type, spec) in &self.resources {
            if self.free_types.contains(resource_type) {
                return fail(format!("{resource_type} is both free and priced"));
            }
            if let Some(other) = &spec.same_as {
                match self.resources.get(other) {
                    Some(target) if target.same_as.is_none() => continue,
                    _ => {
                        return fail(format!(
                            "{resource_type}: same_as {other} is not a priced type"
                        ));
                    }
                }
            }
            if spec.components.is_empty() && spec.usage.is_empty() {
                return fail(format!("{resource_type}: neither components nor usage"));
            }
            let usage_dated = spec
                .usage_source
                .as_deref()
                .is_some_and(|source| source.starts_with("https://"))
                && spec.usage_date.as_deref().is_some_and(is_date);
            if !spec.usage.is_empty() && !usage_dated {
                return fail(format!(
                    "{resource_type}: usage prices need usage_source and usage_date"
                ));
            }
            for component in &spec.components {
                if !self.price_tables.contains_key(&component.table) {
                    return fail(format!(
                        "{resource_type}: table {} does not exist",
                        component.table
                    ));
                }
                if let Some(key) = &component.key {
                    let ways = usize::from(key.attribute.is_some())
                        + usize::from(!key.attributes.is_empty())
                        + usize::from(key.constant.is_some());
                    if ways != 1 {
                        return fail(format!(
                            "{resource_type}/{}: a key has exactly one of attribute, attributes, constant",
                            component.name
                        ));
                    }
                    if key
                        .other_keys
                        .as_deref()
                        .is_some_and(|other| other != "free")
                    {
                        return fail(format!(
                            "{resource_type}/{}: other_keys can only be \"free\"",
                            component.name
                        ));
                    }
                }
                if let Some(multiplier) = &component.multiplier
                    && multiplier.attribute.is_some() != multiplier.attributes.is_empty()
                {
                    return fail(format!(
                        "{resource_type}/{}: a multiplier has attribute or attributes",
                        component.name
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalogue_parses_and_covers_the_three_clouds() {
        let catalogue = PriceCatalogue::builtin().unwrap();
        assert_eq!(catalogue.currency, "USD");
        assert!(is_date(&catalogue.date));
        assert_eq!(catalogue.hours_per_month, 730);
        let priced = |prefix: &str| {
            catalogue
                .resources
                .iter()
                .filter(|(name, spec)| {
                    name.starts_with(prefix)
                        && (!spec.components.is_empty() || spec.same_as.is_some())
                })
                .count()
        };
        // At least 20 types with fixed prices across the three clouds, several in each.
        assert!(priced("aws_") >= 10, "aws {}", priced("aws_"));
        assert!(priced("azurerm_") >= 8, "azure {}", priced("azurerm_"));
        assert!(priced("google_") >= 6, "google {}", priced("google_"));
        assert!(priced("aws_") + priced("azurerm_") + priced("google_") >= 20);
        // The main regions of each cloud.
        for (table, regions) in [
            ("aws_ec2_linux_on_demand", ["us-east-1", "eu-west-1"]),
            ("azure_vm_linux", ["eastus", "westeurope"]),
            ("gcp_compute_machine_hour", ["us-central1", "europe-west1"]),
        ] {
            for region in regions {
                assert!(
                    catalogue.price_tables[table].has_region(region),
                    "{table} {region}"
                );
            }
        }
    }

    #[test]
    fn a_catalogue_without_sources_or_with_a_dangling_table_is_refused() {
        let mut value: serde_json::Value = serde_json::from_str(BUILTIN_CATALOGUE_JSON).unwrap();
        value["price_tables"]["aws_eks_cluster_hour"]["source"] = "".into();
        let error = PriceCatalogue::parse(&value.to_string()).unwrap_err();
        assert!(error.0.contains("aws_eks_cluster_hour"), "{error}");

        let mut value: serde_json::Value = serde_json::from_str(BUILTIN_CATALOGUE_JSON).unwrap();
        value["resources"]["aws_eks_cluster"]["components"][0]["table"] = "nowhere".into();
        let error = PriceCatalogue::parse(&value.to_string()).unwrap_err();
        assert!(error.0.contains("nowhere"), "{error}");

        let mut value: serde_json::Value = serde_json::from_str(BUILTIN_CATALOGUE_JSON).unwrap();
        value["price_tables"]["aws_eks_cluster_hour"]["regions"]["us-east-1"]["*"] = "0.1e1".into();
        assert!(PriceCatalogue::parse(&value.to_string()).is_err());
    }
}
