//! The middleware around every route: the request log, the in-flight limit (503 with
//! `Retry-After`), the time limit (503) and, on the guarded routes, the bearer token
//! (401).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::{Problem, ProblemNote, RowsScored};
use super::{RequestRecord, Server};

/// Hands a record of each answer to the configured log.
pub(super) async fn log(
    State(server): State<Arc<Server>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(log) = server.config.log.clone() else {
        return next.run(request).await;
    };
    let start = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let extensions = response.extensions();
    log(&RequestRecord {
        method,
        path,
        status: response.status().as_u16(),
        rows: extensions.get::<RowsScored>().map_or(0, |r| r.0),
        elapsed: start.elapsed(),
        problem: extensions.get::<ProblemNote>().map(|p| p.0.clone()),
    });
    response
}

/// Refuses a request beyond `max_in_flight` at once with 503 and `Retry-After: 1`.
pub(super) async fn in_flight(
    State(server): State<Arc<Server>>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(_permit) = server.in_flight.clone().try_acquire_owned() else {
        let limit = server.config.limits.max_in_flight;
        let mut response = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the server is busy ({limit} requests in flight); retry later"),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    next.run(request).await
}

/// Answers 503 when a request, body upload included, takes longer than the time limit.
pub(super) async fn time_limit(
    State(server): State<Arc<Server>>,
    request: Request,
    next: Next,
) -> Response {
    let limit = server.config.limits.timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
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
