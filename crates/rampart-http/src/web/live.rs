//! Live pages: a server-sent event stream that says `changed` whenever a page's
//! watermark (a token from the app that changes with what the page shows) moves. The
//! page's script then fetches the page again and swaps the live region in, so what it
//! shows is always the server's own rendering, authorised as the page was. Polling the
//! database keeps every replica's streams right without any messaging between replicas.
//!
//! A stream checks the session on every poll and ends when it does (or after
//! [`STREAM_SECS_MAX`]; the browser's `EventSource` reconnects, and is admitted again).
//! Neither the polls nor the stream's admission count as the person's activity, so an
//! unattended open page does not keep a session past its idle timeout.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use rampart_app::{AppResult, RequestMeta};
use zeroize::Zeroizing;

use crate::AppState;
use crate::web::gate::{Browser, WebError, query_pairs};

/// How often a stream looks for a change.
const POLL: Duration = Duration::from_secs(2);
/// How long one stream lives before the browser reconnects (and is admitted anew).
pub const STREAM_SECS_MAX: u64 = 300;

/// The address of a live region's stream, from the watermark the page was drawn at.
pub fn url(events: &str, mark: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("since", mark)
        .finish();
    format!("{events}?{query}")
}

/// A live page's event stream, for a browser already admitted to the page: the
/// watermark is read once first — so what does not exist, or is hidden, is refused
/// before any stream starts — then watched from the `since` of the request's query.
pub async fn stream<F, Fut>(
    state: AppState,
    browser: &Browser,
    query: Option<&str>,
    mark: F,
) -> Result<Response, WebError>
where
    F: Fn(AppState) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = AppResult<String>> + Send + 'static,
{
    mark(state.clone()).await?;
    Ok(watch(
        state,
        browser.owned_session_secret(),
        browser.meta().clone(),
        query_pairs(query).remove("since"),
        mark,
    ))
}

/// A stream of `changed` events for the watermark `mark` computes, from `since` (the
/// watermark the page was drawn at, so that a change between drawing and listening is
/// not missed).
fn watch<F, Fut>(
    state: AppState,
    session_secret: Zeroizing<String>,
    meta: RequestMeta,
    since: Option<String>,
    mark: F,
) -> Response
where
    F: Fn(AppState) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = AppResult<String>> + Send + 'static,
{
    let rounds = STREAM_SECS_MAX / POLL.as_secs();
    let start = (since, 0u64);
    let events = stream::unfold(start, move |(last, round)| {
        let state = state.clone();
        let secret = session_secret.clone();
        let meta = meta.clone();
        let next_mark = mark(state.clone());
        async move {
            if round > 0 {
                tokio::time::sleep(POLL).await;
            }
            if round >= rounds
                || state
                    .app
                    .authenticate_session_unattended(&secret, &meta)
                    .await
                    .is_err()
            {
                return None;
            }
            // A failed read (the database away) sends nothing and tries again.
            let current = next_mark.await.ok().or_else(|| last.clone());
            let event = match (&last, &current) {
                (Some(before), Some(now)) if before != now => Event::default()
                    .event("changed")
                    .data(now.len().to_string()),
                _ => Event::default().comment("unchanged"),
            };
            Some((Ok::<Event, Infallible>(event), (current, round + 1)))
        }
    });
    sse(events)
}

fn sse<S>(events: S) -> Response
where
    S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
