//! The accept loop: each connection served by hyper's HTTP/1 connection directly (not
//! axum's `serve`, whose HTTP/1-or-2 builder reads every request through a `Rewind`
//! wrapper and goes through more layers per request), a connection closed when a request's
//! headers take longer than the time limit to arrive (or it waits idle that long), and a
//! graceful stop that lets the connections finish the requests they are answering.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower_service::Service;

/// How long to wait before accepting again after an error that is not one connection's
/// (such as running out of file descriptors), so the loop does not spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Answer connections on `listener` with `router` until `shutdown` completes; then stop
/// accepting, let each connection finish the request it is answering, and return once all
/// are closed. A connection whose next request's headers have not all arrived within
/// `header_time` is closed (a client that sends them a byte at a time would otherwise
/// hold it forever: the router's time limit starts with a request).
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    header_time: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    // `stop` tells the connections to finish; each holds a `closed` receiver, so the
    // sender sees no receivers once every connection is gone.
    let (stop_tx, stop_rx) = watch::channel(());
    let (closed_tx, closed_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) if is_connection_error(&e) => continue,
                Err(_) => {
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tokio::spawn(connection(
            tcp,
            router.clone(),
            header_time,
            stop_rx.clone(),
            closed_rx.clone(),
        ));
    }
    drop(listener);
    drop(closed_rx);
    let _ = stop_tx.send(());
    closed_tx.closed().await;
    Ok(())
}

/// Serve one connection until the client closes it or `stop` is sent (then the
/// request being answered is finished first). `_open` is dropped when it ends.
async fn connection(
    tcp: TcpStream,
    router: Router,
    header_time: Duration,
    mut stop: watch::Receiver<()>,
    _open: watch::Receiver<()>,
) {
    // Answers go out as soon as they are written, not held back for more (Nagle).
    let _ = tcp.set_nodelay(true);
    // The router is always ready (`poll_ready` is a no-op), so it is called directly.
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        router.clone().call(request.map(Body::new))
    });
    let mut conn = pin!(http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_time)
        .serve_connection(TokioIo::new(tcp), service));
    let mut stopping = false;
    loop {
        tokio::select! {
            // A connection's error (the client went away mid-request) ends it alone.
            _ = conn.as_mut() => break,
            // A signal, or the accept loop gone: finish the request being answered.
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Errors of one connection, after which accepting the next can go on at once.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
