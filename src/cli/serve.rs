//! `csvnn serve`: score rows over HTTP with the code `predict` uses. This file binds the
//! address, reads the token, runs the tokio runtime, turns signals into a reload
//! (SIGHUP) or a drain and exit (SIGTERM, SIGINT), and writes the request log on stderr;
//! the server itself is `csvnn::serve`.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::common::{parse_positive_f32, parse_positive_usize, Ui};
use super::render::render_error;
use csvnn::serve::{serve, Limits, ModelSlot, RequestRecord, ServeConfig, Server};
use csvnn::Error;

/// How long requests in flight may take to finish after SIGTERM or SIGINT.
const DRAIN: Duration = Duration::from_millis(4500);

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The model file written by `csvnn train`; SIGHUP reads it again.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,

    /// The address to listen on; anything but a loopback address is reachable from other
    /// machines (a warning says so).
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// The port to listen on; 0 picks a free one (the info line names it).
    #[arg(long, value_name = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// A file holding the bearer token that `/predict` and `/model` require
    /// (`Authorization: Bearer <token>`); surrounding whitespace is ignored.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Largest request body in bytes (413 beyond).
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20, value_parser = parse_positive_usize)]
    pub max_body_bytes: usize,

    /// Most rows per request (413 beyond).
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = parse_positive_usize)]
    pub max_rows: usize,

    /// Requests handled at once; more are answered 503 with `Retry-After: 1`.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = parse_positive_usize)]
    pub max_in_flight: usize,

    /// Seconds a request may take, body upload included (503 beyond); a connection whose
    /// next request head takes longer to arrive, or that idles that long, is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = parse_positive_f32)]
    pub timeout: f32,
}

/// The token in `path`, trimmed; an empty file is refused.
fn read_token(path: &PathBuf) -> Result<String, Error> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(&shown, e))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::config(format!(
            "{shown}: the token file is empty; --token-file needs a file holding the token"
        )));
    }
    Ok(token.to_string())
}

/// One stderr line per request: `POST /predict 200 12 rows 0.41 ms`, and why when refused.
fn log_line(record: &RequestRecord) -> String {
    let mut line = format!(
        "{} {} {} {} row{} {:.2} ms",
        record.method,
        record.path,
        record.status,
        record.rows,
        if record.rows == 1 { "" } else { "s" },
        record.elapsed.as_secs_f64() * 1e3
    );
    if let Some(problem) = &record.problem {
        line.push_str(": ");
        line.push_str(problem);
    }
    line
}

pub fn run(args: ServeArgs, ui: &Ui, threads: usize) -> anyhow::Result<()> {
    let token = args.token_file.as_ref().map(read_token).transpose()?;
    let slot = Arc::new(ModelSlot::open(&args.model)?);
    let log: Option<csvnn::serve::RequestLog> = (!ui.quiet).then(|| {
        Arc::new(|record: &RequestRecord| {
            let _ = writeln!(std::io::stderr().lock(), "csvnn: {}", log_line(record));
        }) as csvnn::serve::RequestLog
    });
    let config = ServeConfig {
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            max_rows: args.max_rows,
            max_in_flight: args.max_in_flight,
            timeout: Duration::from_secs_f32(args.timeout),
            workers: threads,
        },
        token,
        render_error: Arc::new(render_error),
        log,
    };
    let server = Server::new(slot.clone(), config);
    // One thread: everything on this one, with no hand-offs between threads (faster on
    // one core); more: that many workers.
    let mut builder = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(threads);
        builder
    };
    let runtime = builder
        .enable_all()
        .build()
        .map_err(|e| Error::io("the server's runtime", e))?;
    let address = SocketAddr::new(args.host, args.port);
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| Error::io(&format!("listening on {address}"), e))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::io(&format!("listening on {address}"), e))?;
        if !args.host.is_loopback() {
            ui.warn(&format!(
                "listening on {bound}, which other machines can reach; give --host 127.0.0.1 to serve this machine only{}",
                if args.token_file.is_some() { "" } else { ", or --token-file to require a token" }
            ));
        }
        ui.info(&format!(
            "serving {} on http://{bound} (POST /predict, GET /model, GET /health)",
            args.model.display()
        ));
        #[cfg(unix)]
        tokio::spawn(reload_on_hangup(slot, *ui));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let stop = async move {
            stop_signal().await;
            let _ = stop_tx.send(());
        };
        let quiet = ui.quiet;
        tokio::select! {
            served = serve(listener, server, stop) => served.map_err(|e| Error::io("serving", e)),
            () = async {
                let _ = stop_rx.await;
                tokio::time::sleep(DRAIN).await;
            } => {
                if !quiet {
                    eprintln!("csvnn: stopped with requests still in flight after {} s", DRAIN.as_secs_f32());
                }
                Ok(())
            }
        }
    });
    // Scoring threads still busy are left behind rather than waited for.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result?;
    ui.info("stopped");
    Ok(())
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Reads the model file again on each SIGHUP; a file that does not load keeps the model
/// served and says why.
#[cfg(unix)]
async fn reload_on_hangup(slot: Arc<ModelSlot>, ui: Ui) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        ui.warn("SIGHUP cannot be caught here; the model will not be reloaded");
        return;
    };
    while hangup.recv().await.is_some() {
        let reloading = slot.clone();
        let outcome = tokio::task::spawn_blocking(move || reloading.reload()).await;
        let shown = slot.path().display();
        match outcome {
            Ok(Ok(())) => ui.info(&format!("reloaded the model from {shown}")),
            Ok(Err(e)) => ui.warn(&format!(
                "reloading {shown} failed; still serving the previous model: {}",
                render_error(&e)
            )),
            Err(_) => ui.warn(&format!(
                "reloading {shown} failed; still serving the previous model"
            )),
        }
    }
}
