//! The start-up and accept loop of the loopback servers our tests and benchmarks run.

use std::net::{Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;
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

/// Binds `127.0.0.1:0` and runs `serve(listener)` to its end on a thread of its
/// own (named `{server}-{port}`) with a current-thread runtime, so that sync
/// tests and `#[tokio::test]`s use the server alike. Dropping the runtime at the
/// end of the thread drops every connection task, which closes their sockets.
/// Panics, naming `server`, if any of that fails.
pub fn spawn_loopback_server<S, F>(server: &str, serve: S) -> (SocketAddr, JoinHandle<()>)
where
    S: FnOnce(std::net::TcpListener) -> F + Send + 'static,
    F: std::future::Future<Output = ()>,
{
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("{server} cannot bind 127.0.0.1:0: {e}"));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("{server}'s listener cannot be non-blocking: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{server} cannot read its port: {e}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{server} cannot build its runtime: {e}"));
    let thread = std::thread::Builder::new()
        .name(format!(
            "{}-{}",
            server.trim_start_matches("the ").replace(' ', "-"),
            address.port()
        ))
        .spawn(move || runtime.block_on(serve(listener)))
        .unwrap_or_else(|e| panic!("{server} cannot start its thread: {e}"));
    (address, thread)
}
