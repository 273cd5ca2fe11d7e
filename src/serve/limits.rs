//! The middleware around every route: the request log, the in-flight limit (503 with
//! `Retry-After`), the time limit (503) and, on the guarded routes, the bearer token
//! (401).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::{Problem, ProblemNote, RowsScored};
use super::{RequestRecord, Server};

/// Every request's way in: the in-flight limit (503 with `Retry-After: 1`), then the
/// time limit, body upload included (503), and a record of each answer for the log. One
/// layer rather than three: each costs a boxed future and a clone of the routes per
/// request, which a one-row prediction notices.
pub(super) async fn guard(
    State(server): State<Arc<Server>>,
    request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let asked = server.config.log.is_some().then(|| {
        (
            request.method().to_string(),
            request.uri().path().to_string(),
        )
    });
    let response = match server.in_flight.try_acquire() {
        Ok(_permit) => time_limit(&server, next.run(request)).await,
        Err(_) => busy(server.config.limits.max_in_flight),
    };
    if let (Some(log), Some((method, path))) = (&server.config.log, asked) {
        let extensions = response.extensions();
        log(&RequestRecord {
            method,
            path,
            status: response.status().as_u16(),
            rows: extensions.get::<RowsScored>().map_or(0, |r| r.0),
            elapsed: start.elapsed(),
            problem: extensions.get::<ProblemNote>().map(|p| p.0.clone()),
        });
    }
    response
}

/// The answer to a request beyond `limit` in flight.
fn busy(limit: usize) -> Response {
    let mut response = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the server is busy ({limit} requests in flight); retry later"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// `answer`, or 503 when it takes longer than the time limit.
async fn time_limit(server: &Server, answer: impl Future<Output = Response>) -> Response {
    let limit = server.config.limits.timeout;
    match tokio::time::timeout(limit, answer).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the request took longer than the limit of {} s",
                crate::number_text::readable(limit.as_secs_f64())
            ),
        )
        .into_response(),
    }
}

/// Lets a request in only with `Authorization: Bearer <token>` when a token is set; 401
/// otherwise. The token is compared in constant time.
pub(super) async fn bearer_token(
    State(server): State<Arc<Server>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = server.config.token.as_deref() else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "));
    if given.is_some_and(|given| same_bytes(given, token.as_bytes())) {
        return next.run(request).await;
    }
    let mut response = Problem::new(
        StatusCode::UNAUTHORIZED,
        if given.is_some() {
            "the bearer token is wrong"
        } else {
            "this server needs a bearer token (an `Authorization: Bearer <token>` header)"
        },
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// `a == b` in a time that depends on their lengths only, not on where they differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::same_bytes;

    #[test]
    fn same_bytes_compares_whole_values() {
        assert!(same_bytes(b"secret", b"secret"));
        assert!(!same_bytes(b"secret", b"secreT"));
        assert!(!same_bytes(b"Secret", b"secret"));
        assert!(!same_bytes(b"secret", b"secret2"));
        assert!(same_bytes(b"", b""));
    }
}
