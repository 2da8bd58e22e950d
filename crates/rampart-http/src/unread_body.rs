//! Request bodies that were not read to the end, and answers that must still reach the
//! client.
//!
//! A route refuses a body that is too large — from its declared `Content-Length` before
//! reading a byte ([`declared_over`]), or when its limit is passed mid-stream — and any
//! route may answer (401, 404, …) without reading its body at all. The client may still be
//! writing. Over HTTP/1.1, hyper then closes the connection with unread bytes in the
//! socket, the kernel answers them with a reset, and a client that writes its whole body
//! before reading (Python `requests`, many webhook senders) loses the answer. Over HTTP/2,
//! the stream is reset (`RST_STREAM(NO_ERROR)`, which RFC 9113 §8.1 allows) while the
//! client is still uploading, and some clients (curl 7.88) report that as a framing error
//! instead of the answer.
//!
//! So the edge wraps every request body in a [`WatchedBody`] and, when the response is
//! ready and the body was left unfinished, [`settle`] reads and discards what is left —
//! at most [`UNREAD_BODY_DRAIN_FACTOR`] times the route's body limit, within the request
//! timeout — before the answer goes out: the client finishes writing, then reads the
//! answer, and the connection stays usable. Past that budget the answer goes out as it
//! is (with `Connection: close` over HTTP/1.1). A client that sent `Expect: 100-continue`
//! and was never told to continue has sent nothing, so nothing is drained; it reads the
//! answer instead of sending the body.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Version, header};
use axum::response::Response;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// How much of an unread request body is read and discarded before answering, as a
/// multiple of the route's body limit: enough for a client that sent somewhat more than
/// the limit to finish writing and read the answer, bounded so that nobody can make the
/// server read without end.
pub const UNREAD_BODY_DRAIN_FACTOR: usize = 4;

#[derive(Debug)]
struct Shared {
    /// The body as the route left it, when it left it unfinished.
    leftover: Mutex<Option<Body>>,
    /// Whether anything read the body (over HTTP/1.1 that is what makes hyper send
    /// `100 Continue`).
    polled: AtomicBool,
    /// Bytes of body read so far.
    read_bytes: AtomicU64,
    /// The route's body limit (the drain budget is a multiple of it).
    limit_bytes: AtomicUsize,
}

/// The edge's handle on a request's body, in the request's extensions: a route with
/// its own body limit says it here ([`BodyWatch::set_limit`]).
#[derive(Clone, Debug)]
pub struct BodyWatch(Arc<Shared>);

impl BodyWatch {
    /// Tells the edge this route's body limit.
    pub fn set_limit(&self, limit_bytes: usize) {
        self.0.limit_bytes.store(limit_bytes, Ordering::Relaxed);
    }
}

/// A request body that hands itself back to its [`BodyWatch`] when dropped unfinished.
struct WatchedBody {
    inner: Option<Body>,
    shared: Arc<Shared>,
}

impl HttpBody for WatchedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        this.shared.polled.store(true, Ordering::Relaxed);
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let length = u64::try_from(data.len()).unwrap_or(u64::MAX);
                    this.shared.read_bytes.fetch_add(length, Ordering::Relaxed);
                }
            }
            // Finished, or broken (the client went away): nothing is left to drain.
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => this.inner = None,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for WatchedBody {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take()
            && !inner.is_end_stream()
            && let Ok(mut slot) = self.shared.leftover.lock()
        {
            *slot = Some(inner);
        }
    }
}

/// What [`settle`] needs to know about the request once the request itself is gone.
#[derive(Clone, Debug)]
pub struct Watched {
    watch: BodyWatch,
    version: Version,
    expects_continue: bool,
    declared_bytes: Option<u64>,
}

/// Wraps `request`'s body and puts its [`BodyWatch`] in the extensions;
/// `default_limit_bytes` is the limit of routes that do not say theirs.
pub fn watch(request: &mut Request, default_limit_bytes: usize) -> Watched {
    let shared = Arc::new(Shared {
        leftover: Mutex::new(None),
        polled: AtomicBool::new(false),
        read_bytes: AtomicU64::new(0),
        limit_bytes: AtomicUsize::new(default_limit_bytes),
    });
    let body = std::mem::take(request.body_mut());
    *request.body_mut() = Body::new(WatchedBody {
        inner: Some(body),
        shared: shared.clone(),
    });
    let watch = BodyWatch(shared);
    request.extensions_mut().insert(watch.clone());
    Watched {
        watch,
        version: request.version(),
        expects_continue: request
            .headers()
            .get(header::EXPECT)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue")),
        declared_bytes: declared_bytes(request.headers()),
    }
}

/// The body length a request declares (`Content-Length`), if it declares one.
pub fn declared_bytes(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
}

/// Whether the request declares a body longer than `limit_bytes`, so that it can be
/// refused before a byte of it is read. Tells the edge the limit either way.
pub fn declared_over(watch: Option<&BodyWatch>, headers: &HeaderMap, limit_bytes: usize) -> bool {
    if let Some(watch) = watch {
        watch.set_limit(limit_bytes);
    }
    let limit = u64::try_from(limit_bytes).unwrap_or(u64::MAX);
    declared_bytes(headers).is_some_and(|declared| declared > limit)
}

/// Before `response` goes out: drains what the route left unread of the body, within
/// the budget and `deadline`; past them, an HTTP/1.1 answer says it closes the
/// connection.
pub async fn settle(watched: Watched, response: &mut Response, deadline: Duration) {
    let shared = &watched.watch.0;
    let leftover = shared.leftover.lock().ok().and_then(|mut slot| slot.take());
    let Some(leftover) = leftover else {
        return;
    };
    let http1 = watched.version < Version::HTTP_2;
    if http1 && watched.expects_continue && !shared.polled.load(Ordering::Relaxed) {
        // Never told to continue, the client has sent nothing and reads this answer
        // instead; hyper cannot reuse the connection, and the answer says so.
        close(response);
        return;
    }
    let budget = u64::try_from(
        shared
            .limit_bytes
            .load(Ordering::Relaxed)
            .saturating_mul(UNREAD_BODY_DRAIN_FACTOR),
    )
    .unwrap_or(u64::MAX);
    let read = shared.read_bytes.load(Ordering::Relaxed);
    let within_budget = match watched.declared_bytes {
        Some(declared) => declared.saturating_sub(read) <= budget,
        None => true,
    };
    let drained = within_budget
        && tokio::time::timeout(deadline, drain(leftover, budget))
            .await
            .unwrap_or(false);
    if !drained && http1 {
        close(response);
    }
}

/// Reads and discards `body` to its end; false if it holds more than `budget_bytes` or
/// breaks off.
async fn drain(mut body: Body, budget_bytes: u64) -> bool {
    let mut drained: u64 = 0;
    loop {
        match body.frame().await {
            None => return true,
            Some(Err(_)) => return false,
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    drained = drained.saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
                    if drained > budget_bytes {
                        return false;
                    }
                }
            }
        }
    }
}

fn close(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
}
