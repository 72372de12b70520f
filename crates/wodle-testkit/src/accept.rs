//! The accept loop of the loopback servers our tests and benchmarks run.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// Accepts connections on `listener` until `shutdown` is cancelled, handing
/// each one to `serve` (which spawns what answers it). `server` names the
/// server in the panic if the listener cannot be used.
pub async fn accept_until<F>(
    listener: std::net::TcpListener,
    shutdown: &CancellationToken,
    server: &str,
    mut serve: F,
) where
    F: FnMut(TcpStream),
{
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => panic!("{server} cannot listen: {e}"),
    };
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => serve(stream),
            // Out of descriptors and the like: the client will retry.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}
