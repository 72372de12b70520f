//! The socket against a real bound receiver standing in for analysisd.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use wodle_analysisd::{
    AnalysisdError, AnalysisdSocket, DatagramLimit, HEADER, SendOutcome, SocketOptions,
};

/// A receiver bound where analysisd's queue would be.
struct Analysisd {
    _dir: tempfile::TempDir,
    path: PathBuf,
    receiver: Option<UnixDatagram>,
}

impl Analysisd {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("queue");
        let receiver = UnixDatagram::bind(&path).expect("binding the stand-in analysisd");
        receiver
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("setting a read timeout");
        Self {
            _dir: dir,
            path,
            receiver: Some(receiver),
        }
    }

    /// What a crash leaves: the socket file, with nobody bound to it.
    fn crash(&mut self) {
        self.receiver = None;
        assert!(self.path.exists());
    }

    /// What a restart does: a new socket at the same path.
    fn restart(&mut self) {
        self.crash();
        std::fs::remove_file(&self.path).expect("unlinking the old socket");
        let receiver = UnixDatagram::bind(&self.path).expect("re-binding the stand-in analysisd");
        receiver
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("setting a read timeout");
        self.receiver = Some(receiver);
    }

    fn receive(&self) -> Vec<u8> {
        // Far larger than any datagram a test expects, so an oversized one
        // shows as a wrong length instead of being cut by recv.
        let mut buffer = vec![0; 1 << 20];
        let len = self
            .receiver
            .as_ref()
            .expect("the stand-in analysisd to be running")
            .recv(&mut buffer)
            .expect("no datagram arrived within 5 s");
        buffer.truncate(len);
        buffer
    }

    fn nothing_pending(&self) -> bool {
        let receiver = self
            .receiver
            .as_ref()
            .expect("the stand-in analysisd to be running");
        receiver
            .set_nonblocking(true)
            .expect("switching to non-blocking");
        let pending = receiver.recv(&mut [0; 16]).is_ok();
        receiver
            .set_nonblocking(false)
            .expect("switching back to blocking");
        !pending
    }
}

fn datagram(message: &[u8]) -> Vec<u8> {
    [HEADER, message].concat()
}

#[test]
fn events_arrive_byte_for_byte_one_datagram_each() {
    let analysisd = Analysisd::start();
    let mut socket = AnalysisdSocket::connect(&analysisd.path).unwrap();
    let events: [&[u8]; 6] = [
        b"127.0.0.1 - - [31/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 12",
        b"{\"eventVersion\":\"1.08\",\"nested\":{\"a\":[1,2]}}",
        b"multi\nline\r\nevent\n",
        b"nul\0inside\0",
        "non-ASCII: café, 東京, 😀".as_bytes(),
        b"",
    ];
    for event in events {
        assert_eq!(socket.send_event(event).unwrap(), SendOutcome::Delivered);
    }
    for event in events {
        assert_eq!(analysisd.receive(), datagram(event));
    }
    assert!(analysisd.nothing_pending());
}

#[test]
fn an_oversized_event_is_truncated_to_exactly_65535_bytes() {
    let analysisd = Analysisd::start();
    let mut socket = AnalysisdSocket::connect(&analysisd.path).unwrap();

    // "€" (3 bytes) straddles the cut: it must be left out whole.
    let room = 65_535 - HEADER.len();
    let mut message = vec![b'a'; room - 1];
    message.extend_from_slice("€".as_bytes());
    message.extend(std::iter::repeat_n(b'z', 100_000));
    let outcome = socket.send_event(&message).unwrap();
    assert_eq!(
        outcome,
        SendOutcome::Truncated {
            original_len: message.len(),
            kept_len: room - 1
        }
    );
    let received = analysisd.receive();
    assert_eq!(received, datagram(&message[..room - 1]));

    // Plain ASCII fills the datagram to the byte.
    let message = vec![b'x'; 1_048_576];
    let _ = socket.send_event(&message).unwrap();
    let received = analysisd.receive();
    assert_eq!(received.len(), 65_535);
    assert_eq!(received, datagram(&message[..room]));
}

#[test]
fn a_limit_above_the_default_send_buffer_raises_it() {
    let analysisd = Analysisd::start();
    // Above net.core.wmem_default (212,992 bytes on Linux), so the send
    // buffer must grow for such datagrams to pass.
    let limit = DatagramLimit::new(300_000).unwrap();
    let options = SocketOptions {
        limit,
        ..SocketOptions::default()
    };
    let mut socket = AnalysisdSocket::connect_with(&analysisd.path, options).unwrap();
    let message = vec![b'm'; 400_000];
    let outcome = socket.send_event(&message).unwrap();
    assert_eq!(
        outcome,
        SendOutcome::Truncated {
            original_len: 400_000,
            kept_len: limit.max_message_len()
        }
    );
    assert_eq!(
        analysisd.receive(),
        datagram(&message[..limit.max_message_len()])
    );
}

#[test]
fn a_missing_socket_file_means_wazuh_is_not_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue");
    match AnalysisdSocket::connect(&path) {
        Err(error @ AnalysisdError::SocketMissing { .. }) => {
            assert!(error.means_wazuh_is_down());
            assert_eq!(error.reference_exit_code(), 13);
            let message = error.to_string();
            assert!(message.starts_with("Wazuh must be running"), "{message}");
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
        other => panic!("expected SocketMissing, got {other:?}"),
    }
}

#[test]
fn a_socket_file_nobody_is_bound_to_means_wazuh_is_not_running() {
    let mut analysisd = Analysisd::start();
    analysisd.crash();
    match AnalysisdSocket::connect(&analysisd.path) {
        Err(error @ AnalysisdError::NotRunning { .. }) => {
            assert!(error.means_wazuh_is_down());
            assert_eq!(error.reference_exit_code(), 11);
            assert!(error.to_string().starts_with("Wazuh must be running"));
        }
        other => panic!("expected NotRunning, got {other:?}"),
    }
}

#[test]
fn something_other_than_a_socket_at_the_path_is_named() {
    let dir = tempfile::tempdir().unwrap();

    let file = dir.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let directory = dir.path().join("directory");
    std::fs::create_dir(&directory).unwrap();
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();

    for (path, expected) in [
        (file, "a regular file"),
        (directory, "a directory"),
        (dangling, "a dangling symbolic link"),
    ] {
        match AnalysisdSocket::connect(&path) {
            Err(error @ AnalysisdError::NotASocket { found, .. }) => {
                assert_eq!(found, expected);
                assert!(!error.means_wazuh_is_down());
                let message = error.to_string();
                assert!(message.contains(&path.display().to_string()), "{message}");
            }
            other => panic!("expected NotASocket for {expected}, got {other:?}"),
        }
    }
}

#[test]
fn a_symbolic_link_to_the_socket_is_followed() {
    let analysisd = Analysisd::start();
    let link = analysisd.path.with_file_name("link");
    std::os::unix::fs::symlink(&analysisd.path, &link).unwrap();
    let mut socket = AnalysisdSocket::connect(&link).unwrap();
    let _ = socket.send_event(b"via link").unwrap();
    assert_eq!(analysisd.receive(), datagram(b"via link"));
}

#[test]
fn a_restarted_analysisd_gets_the_next_event() {
    let mut analysisd = Analysisd::start();
    let mut socket = AnalysisdSocket::connect(&analysisd.path).unwrap();
    let _ = socket.send_event(b"before restart").unwrap();
    assert_eq!(analysisd.receive(), datagram(b"before restart"));

    analysisd.restart();
    assert_eq!(
        socket.send_event(b"after restart").unwrap(),
        SendOutcome::Delivered
    );
    assert_eq!(analysisd.receive(), datagram(b"after restart"));
    // And the new connection stays up.
    let _ = socket.send_event(b"and again").unwrap();
    assert_eq!(analysisd.receive(), datagram(b"and again"));
}

#[test]
fn an_analysisd_that_stays_down_is_reported_after_one_reconnect() {
    let mut analysisd = Analysisd::start();
    let mut socket = AnalysisdSocket::connect(&analysisd.path).unwrap();
    analysisd.crash();
    match socket.send_event(b"lost?") {
        Err(AnalysisdError::NotRunning { path }) => assert_eq!(path, analysisd.path),
        other => panic!("expected NotRunning, got {other:?}"),
    }
    // Once it is back, the same socket works again.
    analysisd.restart();
    let _ = socket.send_event(b"back").unwrap();
    assert_eq!(analysisd.receive(), datagram(b"back"));
}

/// Fills the receiver's queue (nobody reads it) until a send gives up.
fn fill_until_refused(socket: &mut AnalysisdSocket) -> (usize, AnalysisdError) {
    for sent in 0..100_000 {
        if let Err(error) = socket.send_event(b"queued") {
            return (sent, error);
        }
    }
    panic!("100,000 datagrams and the queue never filled up");
}

#[test]
fn a_full_queue_is_a_would_block_error_after_the_timeout() {
    let analysisd = Analysisd::start();
    let timeout = Duration::from_millis(50);
    let options = SocketOptions {
        send_timeout: Some(timeout),
        ..SocketOptions::default()
    };
    let mut socket = AnalysisdSocket::connect_with(&analysisd.path, options).unwrap();
    let started = Instant::now();
    let (sent, error) = fill_until_refused(&mut socket);
    assert!(sent > 0);
    assert!(started.elapsed() >= timeout);
    match error {
        AnalysisdError::WouldBlock {
            timeout: reported, ..
        } => assert_eq!(reported, Some(timeout)),
        other => panic!("expected WouldBlock, got {other:?}"),
    }

    // Once analysisd reads one, the next event fits again.
    assert_eq!(analysisd.receive(), datagram(b"queued"));
    let _ = socket.send_event(b"after drain").unwrap();
}

#[test]
fn a_socket_that_never_waits_refuses_at_once() {
    let analysisd = Analysisd::start();
    let mut socket = AnalysisdSocket::connect(&analysisd.path).unwrap();
    socket.set_send_timeout(Some(Duration::ZERO)).unwrap();
    let started = Instant::now();
    let (_, error) = fill_until_refused(&mut socket);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        matches!(error, AnalysisdError::WouldBlock { timeout: None, .. }),
        "{error:?}"
    );
    assert_eq!(socket.options().send_timeout, Some(Duration::ZERO));
}
