//! Prometheus remote write v1 on the wire: a `WriteRequest` protobuf compressed with
//! snappy's block format (prometheus/prompb `remote.proto` and `types.proto`). Only the
//! fields SLOs read are declared — labels and float samples; metadata, exemplars and
//! native histograms are skipped as unknown fields. Strings are kept as byte slices of
//! the decompressed body (no copy per label): a series no SLO asks for is dropped after
//! one look at its `__name__`, and only matched series' labels are checked as UTF-8.

use prost::Message;
use prost::bytes::Bytes;
use rampart_domain::ErrorCode;

use crate::{AppError, AppResult};

/// The largest decompressed write request accepted (Prometheus sends at most a few MiB:
/// 2 000 samples per request by default).
pub const DECOMPRESSED_BYTES_MAX: usize = 32 * 1024 * 1024;

#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// A label; `string` on the wire, bytes here (see the module comment).
#[derive(Clone, PartialEq, Message)]
pub struct Label {
    #[prost(bytes = "bytes", tag = "1")]
    pub name: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    pub value: Bytes,
}

#[derive(Clone, Copy, PartialEq, Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::bad_request(ErrorCode::InvalidRemoteWrite, message)
}

/// The write request in `body`, or 400 `invalid_remote_write` saying what is wrong
/// (413 `body_too_large` when it would decompress beyond
/// [`DECOMPRESSED_BYTES_MAX`]).
pub fn decode(body: &[u8]) -> AppResult<WriteRequest> {
    let length = snap::raw::decompress_len(body)
        .map_err(|_| invalid("the body is not snappy-compressed (block format)"))?;
    if length > DECOMPRESSED_BYTES_MAX {
        return Err(AppError::TooLarge {
            code: ErrorCode::BodyTooLarge,
            message: format!(
                "the write request decompresses to {length} bytes; at most \
                 {DECOMPRESSED_BYTES_MAX} are accepted (lower queue_config.max_samples_per_send)"
            ),
        });
    }
    let plain = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|error| invalid(format!("the body is not valid snappy: {error}")))?;
    WriteRequest::decode(Bytes::from(plain)).map_err(|error| {
        invalid(format!(
            "the body is not a Prometheus remote write v1 WriteRequest: {error}"
        ))
    })
}

/// `request` encoded as Prometheus sends it (for tests and benchmarks).
pub fn encode(request: &WriteRequest) -> Vec<u8> {
    let plain = request.encode_to_vec();
    snap::raw::Encoder::new()
        .compress_vec(&plain)
        .unwrap_or_default()
}
