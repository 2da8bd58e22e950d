//! Extractors whose rejections speak the API's error format instead of axum's plain
//! text: malformed JSON, unknown fields, wrong types, wrong content type, oversized
//! bodies and bad query strings each get a stable code; path parameters are read by
//! name into a typed shape ([`ApiPath`], [`PathParams`], `path_params!`), and a path
//! that does not fit its shape names nothing (404).

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use rampart_domain::ErrorCode;
use serde::de::DeserializeOwned;

use rampart_app::AppError;

use crate::error::ApiError;

/// A JSON body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(request.headers()) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = read_body(request, state).await?;
        // Objects only, at every depth: serde would read a struct from an array of its
        // fields too (`["id", "Name"]`), which no client means.
        let value = rampart_domain::json::from_slice::<T>(&bytes).map_err(|e| json_error(&e))?;
        // Every body of this API is an object.
        if bytes.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::new(
                ErrorCode::InvalidBody,
                "the body must be a JSON object",
            ));
        }
        if rampart_domain::json_has_nul(&bytes) {
            return Err(nul_character());
        }
        Ok(Self(value))
    }
}

/// The whole body, within the route's limit (413 `body_too_large` beyond it).
async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                body_too_large()
            } else {
                ApiError::new(
                    ErrorCode::UnreadableBody,
                    "the request body could not be read",
                )
            }
        })
}

/// A body posted as an HTML form (`application/x-www-form-urlencoded`), read into `T`
/// through its fields as JSON strings: each field once, no NUL.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiForm<T>(pub T);

impl<S, T> FromRequest<S> for ApiForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if media_type(request.headers()).as_deref() != Some("application/x-www-form-urlencoded") {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "post the body as a form with Content-Type: application/x-www-form-urlencoded",
            ));
        }
        let bytes = read_body(request, state).await?;
        let mut fields = serde_json::Map::new();
        for (name, value) in url::form_urlencoded::parse(&bytes) {
            if name.contains('\0') || value.contains('\0') {
                return Err(nul_character());
            }
            if fields
                .insert(name.clone().into_owned(), value.into_owned().into())
                .is_some()
            {
                return Err(ApiError::new(
                    ErrorCode::InvalidBody,
                    format!("the form has the field {name} more than once"),
                ));
            }
        }
        serde_json::from_value(serde_json::Value::Object(fields))
            .map(Self)
            .map_err(|error| {
                ApiError::new(
                    ErrorCode::InvalidBody,
                    format!("the form does not match the expected fields: {error}"),
                )
            })
    }
}

/// Text with NUL cannot be stored alike on both engines: refused everywhere, the same way.
fn nul_character() -> ApiError {
    ApiError::new(
        ErrorCode::NulCharacter,
        "text must not contain a NUL character (\\u0000)",
    )
}

/// `application/json` or `application/<something>+json`, as axum's `Json` accepts.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(essence) = media_type(headers) else {
        return false;
    };
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// The body's media type (`Content-Type` without parameters, lowercase), if sent.
fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

/// 413 `body_too_large`: the body is over the route's limit.
pub(crate) fn body_too_large() -> ApiError {
    ApiError::new(
        ErrorCode::BodyTooLarge,
        "the request body is larger than this route accepts",
    )
}

/// A body that did not read as `T`: not JSON at all (`malformed_json`), or JSON of
/// another shape (`invalid_body`).
fn json_error(error: &serde_json::Error) -> ApiError {
    match error.classify() {
        serde_json::error::Category::Data => ApiError::new(
            ErrorCode::InvalidBody,
            // serde's message names the field and the problem (unknown field, wrong
            // type, an array for an object); it never echoes a value.
            format!("the body does not match the expected shape: {error}"),
        ),
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => ApiError::new(
            ErrorCode::MalformedJson,
            "the request body is not valid JSON",
        ),
        serde_json::error::Category::Io => ApiError::new(
            ErrorCode::UnreadableBody,
            "the request body could not be read",
        ),
    }
}

/// A query string.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let value = match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => value,
            Err(rejection) => return Err(query_rejection(&rejection)),
        };
        // `%00` decodes to NUL: refused like a NUL in a body.
        let query = parts.uri.query().unwrap_or("");
        if query
            .as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%00"))
        {
            return Err(nul_character());
        }
        Ok(Self(value))
    }
}

fn query_rejection(rejection: &QueryRejection) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidQuery,
        format!(
            "the query string is not valid: {}",
            rejection
                .body_text()
                .trim_start_matches("Failed to deserialize query string: ")
        ),
    )
}

/// The parameters a handler reads from its route's path: a struct whose fields are named
/// like the path's `{parameters}`, declared with `path_params!` so that [`Self::NAMES`]
/// and the fields cannot differ. `{org}` and `{project}` are never among them: the
/// enforcement point resolves them into the [`Scope`](crate::enforce::Scope). The route
/// table checks every route's parameters against its handler's shape (see
/// [`crate::routes::RouteTable::path_problems`]).
pub trait PathParams: DeserializeOwned + Send {
    /// The field names, in declaration order.
    const NAMES: &'static [&'static str];
}

/// Declares a [`PathParams`] shape: a struct of `String` fields named after path
/// parameters.
macro_rules! path_params {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($field:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, ::serde::Deserialize)]
        $vis struct $name {
            $(pub $field: String,)+
        }

        impl $crate::extract::PathParams for $name {
            const NAMES: &'static [&'static str] = &[$(stringify!($field)),+];
        }
    };
}
pub(crate) use path_params;

/// Path parameters, by name, in the shape `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: PathParams,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(path_rejection(&rejection)),
        }
    }
}

/// A path whose parameters do not fit the handler's shape names nothing: 404, as at the
/// enforcement point for parameters that do not decode.
fn path_rejection(rejection: &PathRejection) -> ApiError {
    tracing::debug!(%rejection, "path parameters do not fit the handler");
    ApiError::from(AppError::NotFound { what: "resource" })
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    path_params! {
        struct ThingPath { thing }
    }
    path_params! {
        struct MisspeltPath { thnig }
    }

    async fn thing(ApiPath(path): ApiPath<ThingPath>) -> String {
        path.thing
    }

    async fn misspelt(ApiPath(path): ApiPath<MisspeltPath>) -> String {
        path.thnig
    }

    async fn call(router: Router, uri: &str) -> (StatusCode, String) {
        let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_shape_reads_its_parameters_by_name_and_leaves_the_scope_alone() {
        let router = Router::new().route("/orgs/{org}/things/{thing}", get(thing));
        assert_eq!(
            call(router, "/orgs/acme/things/a%20b").await,
            (StatusCode::OK, "a b".to_owned())
        );
    }

    #[tokio::test]
    async fn a_shape_that_does_not_fit_the_path_names_nothing() {
        let router = Router::new().route("/things/{thing}", get(misspelt));
        let (status, body) = call(router, "/things/x").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
}
