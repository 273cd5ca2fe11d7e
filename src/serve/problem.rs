//! A refused request: its status and one line saying why, answered as plain text or, to a
//! JSON request, as `{"error": "..."}`. The line also reaches the request log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Why a request gets no predictions.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Problem {
    pub status: StatusCode,
    pub message: String,
}

/// The problem line of an answer, for the log.
#[derive(Debug, Clone)]
pub(super) struct ProblemNote(pub String);

/// Rows scored by an answer, for the log.
#[derive(Debug, Clone, Copy)]
pub(super) struct RowsScored(pub usize);

impl Problem {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Problem {
        Problem {
            status,
            message: message.into(),
        }
    }

    /// 400: the request's data or parameters are wrong.
    pub fn bad_request(message: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, message)
    }

    /// 413: over a size limit.
    pub fn too_large(message: impl Into<String>) -> Problem {
        Problem::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    /// The answer: JSON `{"error": ...}` when `json`, else the line as plain text.
    pub fn answer(self, json: bool) -> Response {
        let (body, kind) = if json {
            let body = serde_json::json!({ "error": self.message }).to_string() + "\n";
            (body, "application/json")
        } else {
            (format!("{}\n", self.message), "text/plain; charset=utf-8")
        };
        let mut response = (self.status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        response.extensions_mut().insert(ProblemNote(self.message));
        response
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        self.answer(false)
    }
}
