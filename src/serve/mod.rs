//! `csvnn serve`'s HTTP server (axum's router on hyper and tokio): `POST /predict` scores a CSV or JSON body
//! with the code `predict` uses (`crate::scoring`), `GET /model` describes the model as
//! `inspect --format json` does, `GET /health` says it is up. Requests are bounded in body
//! size, rows, number in flight and time; an optional bearer token guards `/predict` and
//! `/model`. The front end binds the listener, handles signals (reload, shutdown) and
//! writes the request log it receives through `ServeConfig::log`.

mod connections;
mod handlers;
mod limits;
mod problem;
mod score;
mod state;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::error::Error;
pub use state::{ModelSlot, ServedModel};

/// What one request may take.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest request body, in bytes; a larger one is answered 413.
    pub max_body_bytes: usize,
    /// Most rows one request may score; more are answered 413.
    pub max_rows: usize,
    /// Requests handled at once; one more is answered 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// Longest a request may take, body upload included; a slower one is answered 503. A
    /// connection whose next request's headers take longer to arrive (or that waits idle
    /// that long) is closed.
    pub timeout: Duration,
    /// Requests scored at once (each on its own blocking thread); others wait their turn.
    pub workers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 << 20,
            max_rows: 100_000,
            max_in_flight: 1024,
            timeout: Duration::from_secs(10),
            workers: 1,
        }
    }
}

/// One answered request, for the front end's log.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path asked for, without the query.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// Rows scored (0 for anything but a successful `/predict`).
    pub rows: usize,
    /// From the request's arrival to its answer.
    pub elapsed: Duration,
    /// Why a request was refused, in the answer's words.
    pub problem: Option<String>,
}

/// Words a library error for a client: the front end's one-line rendering (`predict`'s).
pub type RenderError = Arc<dyn Fn(&Error) -> String + Send + Sync>;

/// Receives a record of every answered request.
pub type RequestLog = Arc<dyn Fn(&RequestRecord) + Send + Sync>;

/// How the server behaves.
#[derive(Clone)]
pub struct ServeConfig {
    /// Limits per request and on concurrency.
    pub limits: Limits,
    /// The bearer token `/predict` and `/model` require; `None` lets every request in.
    pub token: Option<String>,
    /// How an error in a request's data is worded in the 400 answer.
    pub render_error: RenderError,
    /// Where request records go; `None` keeps no log.
    pub log: Option<RequestLog>,
}

/// The state every request shares: the model slot, the settings and the semaphores.
pub struct Server {
    slot: Arc<ModelSlot>,
    config: ServeConfig,
    in_flight: Arc<Semaphore>,
    workers: Arc<Semaphore>,
}

impl Server {
    /// A server for the model in `slot`.
    pub fn new(slot: Arc<ModelSlot>, config: ServeConfig) -> Arc<Server> {
        Arc::new(Server {
            in_flight: Arc::new(Semaphore::new(config.limits.max_in_flight.max(1))),
            workers: Arc::new(Semaphore::new(config.limits.workers.max(1))),
            slot,
            config,
        })
    }

    /// The routes with their limits: `POST /predict`, `GET /model`, `GET /health`.
    pub fn router(self: &Arc<Server>) -> Router {
        let guarded = Router::new()
            .route("/predict", post(handlers::predict))
            .route("/model", get(handlers::model))
            .route_layer(from_fn_with_state(self.clone(), limits::bearer_token));
        Router::new()
            .route("/health", get(handlers::health))
            .merge(guarded)
            // The log sees every answer; the in-flight limit comes before the clock starts.
            .layer(from_fn_with_state(self.clone(), limits::guard))
            .with_state(self.clone())
    }
}

/// Serve on `listener` until `shutdown` completes, then stop accepting, finish the
/// requests in flight and return.
pub async fn serve(
    listener: TcpListener,
    server: Arc<Server>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_time = server.config.limits.timeout;
    connections::serve(listener, server.router(), header_time, shutdown).await
}
