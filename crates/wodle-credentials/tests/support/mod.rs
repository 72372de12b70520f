//! Loopback servers for the tests: a recording HTTP proxy (forward, `CONNECT` and reverse),
//! and (from wodle-testkit) a TLS front for moto with a throwaway CA. Each runs on its own thread and runtime,
//! so it serves whatever runtime flavour the test uses, and stops when dropped.
//!
//! Not every test binary uses every helper.
#![allow(dead_code)]

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use wodle_testkit::{LoopbackServer, MotoServer};

/// One request as the proxy received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    /// As sent: absolute form (`http://host:port/path`) through a forward proxy,
    /// `host:port` for `CONNECT`, origin form (`/path`) when used as a relay.
    pub target: String,
    pub body: String,
}

/// An HTTP proxy that records every request and relays it: absolute-form requests and
/// `CONNECT` tunnels to the loopback address they name, origin-form requests to
/// `upstream` (so it can also stand in front of moto as a recording relay).
pub struct RecordingProxy {
    server: LoopbackServer,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl RecordingProxy {
    pub fn start(upstream: SocketAddr) -> RecordingProxy {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let server = LoopbackServer::start(move |client| {
            let log = Arc::clone(&log);
            async move {
                let _ = relay(client, upstream, log).await;
            }
        });
        RecordingProxy { server, seen }
    }

    /// A relay in front of `moto`.
    pub fn in_front_of(moto: &MotoServer) -> RecordingProxy {
        RecordingProxy::start(SocketAddr::from((Ipv4Addr::LOCALHOST, moto.port())))
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.server.address())
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("the log").clone()
    }

    /// How many of the recorded requests carried `Action=<action>` (STS's query protocol).
    pub fn count_action(&self, action: &str) -> usize {
        let needle = format!("Action={action}&");
        self.seen()
            .iter()
            .filter(|seen| format!("{}&", seen.body).contains(&needle))
            .count()
    }
}

async fn relay(
    client: TcpStream,
    upstream: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
) -> io::Result<()> {
    let mut client = BufReader::new(client);
    let mut head = Vec::new();
    loop {
        let read = client.read_until(b'\n', &mut head).await?;
        if read == 0 || head.ends_with(b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n").filter(|line| !line.is_empty());
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut parts = request_line.split_whitespace();
    let (method, target, version) = (
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or("HTTP/1.1").to_owned(),
    );
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();

    if method.eq_ignore_ascii_case("CONNECT") {
        record(&seen, &method, &target, String::new());
        let mut upstream = TcpStream::connect(loopback(&target)?).await?;
        let early = client.buffer().to_vec();
        let mut client = client.into_inner();
        client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await?;
        upstream.write_all(&early).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }

    let length = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    client.read_exact(&mut body).await?;
    record(
        &seen,
        &method,
        &target,
        String::from_utf8_lossy(&body).into_owned(),
    );

    let (address, path) = match target.strip_prefix("http://") {
        Some(rest) => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            (loopback(authority)?, format!("/{path}"))
        }
        None => (upstream, target.clone()),
    };
    // One request per connection, both ways, so that a response ends where the stream does.
    let mut request = format!("{method} {path} {version}\r\n");
    for (name, value) in &headers {
        let hop_by_hop = [
            "connection",
            "proxy-connection",
            "keep-alive",
            "proxy-authorization",
        ]
        .iter()
        .any(|hop| name.eq_ignore_ascii_case(hop));
        if !hop_by_hop {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    request.push_str("Connection: close\r\n\r\n");
    let mut upstream = TcpStream::connect(address).await?;
    upstream.write_all(request.as_bytes()).await?;
    upstream.write_all(&body).await?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response).await?;

    let split = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map_or(response.len(), |at| at + 4);
    let (response_head, response_body) = response.split_at(split);
    let mut rewritten = String::new();
    for line in String::from_utf8_lossy(response_head).split("\r\n") {
        let is_connection = line
            .split_once(':')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("connection"));
        if !line.is_empty() && !is_connection {
            rewritten.push_str(line);
            rewritten.push_str("\r\n");
        }
    }
    rewritten.push_str("Connection: close\r\n\r\n");
    let client = client.get_mut();
    client.write_all(rewritten.as_bytes()).await?;
    client.write_all(response_body).await?;
    client.shutdown().await
}

fn record(seen: &Mutex<Vec<Seen>>, method: &str, target: &str, body: String) {
    seen.lock().expect("the log").push(Seen {
        method: method.to_owned(),
        target: target.to_owned(),
        body,
    });
}

/// The tests' proxy never leaves the machine.
fn loopback(authority: &str) -> io::Result<SocketAddr> {
    let address: SocketAddr = authority
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{authority}: {e}")))?;
    if address.ip().is_loopback() {
        Ok(address)
    } else {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{authority} is not a loopback address"),
        ))
    }
}

/// Moved to wodle-testkit, which the binary's end-to-end tests share.
#[allow(unused_imports)]
pub use wodle_testkit::{TestCa, TlsFront};
