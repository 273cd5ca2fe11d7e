//! The routes: `GET /health`, `GET /model`, `POST /predict`. A prediction's body is read
//! up to the size limit here, then scored (`score.rs`) once one of the `workers` permits
//! is free: a small body right there, a larger one on a blocking thread.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::{Body, HttpBody};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::problem::{Problem, RowsScored};
use super::score::{answer, BodyKind, Options};
use super::Server;

/// Bodies up to this size (about 1000 rows) are scored on the runtime's thread: handing
/// them to a blocking thread would cost more than scoring them.
const INLINE_BODY_BYTES: usize = 64 << 10;

/// `GET /health`: 200 `ok` while the server runs.
pub(super) async fn health() -> &'static str {
    "ok\n"
}

/// `GET /model`: the served model as `inspect --format json` describes it.
pub(super) async fn model(State(server): State<Arc<Server>>) -> Response {
    let served = server.slot.current();
    with_type(
        served.inspection.clone().into_response(),
        "application/json",
    )
}

/// `POST /predict`: a CSV body (header and rows) answered as `predict` writes CSV, or a
/// JSON body `{"rows": [{"col": value, ...}, ...]}` answered as `{"predictions": [...]}`.
/// `?proba=true` and `?keep=COL,...` do what `predict`'s flags do.
pub(super) async fn predict(State(server): State<Arc<Server>>, request: Request) -> Response {
    // The parts as they came (extractors would copy the headers).
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let kind = if is_json(headers) {
        BodyKind::Json
    } else {
        BodyKind::Csv
    };
    let json = kind == BodyKind::Json;
    let options = match Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
        .map_err(|e| Problem::bad_request(format!("the query is not valid: {}", e.body_text())))
        .and_then(|Query(pairs)| Options::from_query(&pairs))
    {
        Ok(options) => options,
        Err(problem) => return problem.answer(json),
    };
    let limits = &server.config.limits;
    let bytes = match read_body(body, headers, limits.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(problem) => return problem.answer(json),
    };
    let Ok(permit) = server.workers.clone().acquire_owned().await else {
        return Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping")
            .answer(json);
    };
    let served = server.slot.current();
    let render = server.config.render_error.clone();
    let max_rows = limits.max_rows;
    let small = bytes.len() <= INLINE_BODY_BYTES;
    let work = move || {
        let _permit = permit;
        // A panic is a bug; it becomes a 500 instead of a dropped connection.
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            answer(&served, bytes, kind, options, max_rows, &*render)
        }))
    };
    let scored = if small {
        work()
    } else {
        tokio::task::spawn_blocking(work)
            .await
            .unwrap_or_else(|e| Err(Box::new(e.to_string()) as Box<dyn std::any::Any + Send>))
    };
    match scored {
        Ok(Ok(done)) => {
            let content = match kind {
                BodyKind::Csv => "text/csv; charset=utf-8",
                BodyKind::Json => "application/json",
            };
            let mut response = with_type(done.body.into_response(), content);
            response.extensions_mut().insert(RowsScored(done.rows));
            response
        }
        Ok(Err(problem)) => problem.answer(json),
        // Scoring panicked: a bug, not the client's input.
        Err(_) => Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "scoring the request failed (a bug in csvnn; please report it)",
        )
        .answer(json),
    }
}

/// True when the request says its body is JSON.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json") || v.to_ascii_lowercase().ends_with("+json")
        })
}

fn with_type(mut response: Response, content_type: &'static str) -> Response {
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The whole body, refused with 413 as soon as it is known to pass `max` bytes (from
/// `Content-Length`, or while it streams in).
async fn read_body(mut body: Body, headers: &HeaderMap, max: usize) -> Result<Vec<u8>, Problem> {
    let too_large =
        || Problem::too_large(format!("the body is larger than the limit of {max} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame =
            frame.map_err(|e| Problem::bad_request(format!("reading the body failed: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > max {
                return Err(too_large());
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}
