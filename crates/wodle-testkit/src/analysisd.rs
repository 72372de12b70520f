//! Stands in for analysisd: a real `AF_UNIX` datagram socket that records what it receives.

use std::io::ErrorKind;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Big enough for any datagram a sender can get through a default Linux send buffer
/// (~212 KB), so an oversized event arrives whole and a test can see its real size
/// instead of a silently truncated one.
const RECEIVE_BUFFER_BYTES: usize = 1024 * 1024;
/// How often the reader thread looks up from `recv` to see whether it should stop.
const STOP_POLL: Duration = Duration::from_millis(50);
const WAIT_POLL: Duration = Duration::from_millis(5);

/// A bound `SOCK_DGRAM` socket that records every datagram, in arrival order, on a
/// background thread. The socket file is removed on drop.
///
/// It can also play an analysisd in trouble: one that does not read yet
/// ([`AnalysisdReceiver::bind_paused`]), that crashed ([`AnalysisdReceiver::crash`]) or that
/// restarted ([`AnalysisdReceiver::restart`]).
#[derive(Debug)]
pub struct AnalysisdReceiver {
    path: PathBuf,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

impl AnalysisdReceiver {
    /// Binds at `path`, creating its parent directories; panics if that fails.
    pub fn bind(path: impl AsRef<Path>) -> AnalysisdReceiver {
        let receiver = Self::bind_paused(path);
        receiver.resume();
        receiver
    }

    /// Binds at `path` like [`AnalysisdReceiver::bind`], but reads nothing until
    /// [`AnalysisdReceiver::resume`]: senders see the queue of a stuck analysisd fill up
    /// (Linux holds `net.unix.max_dgram_qlen` datagrams, 10 by default, and then blocks them).
    pub fn bind_paused(path: impl AsRef<Path>) -> AnalysisdReceiver {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
        }
        let mut receiver = AnalysisdReceiver {
            path,
            received: Arc::new(Mutex::new(Vec::new())),
            stop: Arc::new(AtomicBool::new(false)),
            paused: Arc::new(AtomicBool::new(true)),
            reader: None,
        };
        receiver.start_reader();
        receiver
    }

    /// Starts (or goes on) reading: what is queued arrives, in order.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::Relaxed);
    }

    /// What a killed analysisd leaves: the socket closed, its file still there, so
    /// senders get "connection refused". Datagrams queued but not read yet are lost, as
    /// they are with the real one. Does nothing if already crashed.
    pub fn crash(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            // The socket belongs to the reader thread: it closes when the thread ends.
            reader.join().expect("the receiver thread panicked");
        }
    }

    /// What a restarted analysisd does: a new socket bound at the same path (the old file
    /// removed first, if it is still there), reading at once. The datagrams received
    /// before stay in [`AnalysisdReceiver::datagrams`].
    pub fn restart(&mut self) {
        self.crash();
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => panic!("remove the old socket {}: {e}", self.path.display()),
        }
        self.stop.store(false, Ordering::Relaxed);
        self.paused.store(false, Ordering::Relaxed);
        self.start_reader();
    }

    fn start_reader(&mut self) {
        let socket = UnixDatagram::bind(&self.path)
            .unwrap_or_else(|e| panic!("bind a datagram socket at {}: {e}", self.path.display()));
        socket
            .set_read_timeout(Some(STOP_POLL))
            .expect("set the receiver's read timeout");
        let reader = std::thread::Builder::new()
            .name("analysisd-receiver".into())
            .spawn({
                let received = Arc::clone(&self.received);
                let stop = Arc::clone(&self.stop);
                let paused = Arc::clone(&self.paused);
                move || read_until_stopped(&socket, &received, &stop, &paused)
            })
            .expect("spawn the receiver thread");
        self.reader = Some(reader);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every datagram received so far, in arrival order.
    pub fn datagrams(&self) -> Vec<Vec<u8>> {
        lock(&self.received).clone()
    }

    /// The datagrams as text (invalid UTF-8 replaced), for readable assertions.
    pub fn texts(&self) -> Vec<String> {
        lock(&self.received)
            .iter()
            .map(|datagram| String::from_utf8_lossy(datagram).into_owned())
            .collect()
    }

    /// Waits until at least `count` datagrams arrived and returns them all; panics with what
    /// did arrive after `timeout`. Polls without blocking the runtime, so the sender may be a
    /// task on the same runtime.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(datagrams) = self.at_least(count, deadline, timeout) {
                return datagrams;
            }
            tokio::time::sleep(WAIT_POLL).await;
        }
    }

    /// [`AnalysisdReceiver::wait_for`] for tests without a runtime (the sender must then be
    /// another thread or process).
    pub fn wait_for_blocking(&self, count: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(datagrams) = self.at_least(count, deadline, timeout) {
                return datagrams;
            }
            std::thread::sleep(WAIT_POLL);
        }
    }

    fn at_least(&self, count: usize, deadline: Instant, timeout: Duration) -> Option<Vec<Vec<u8>>> {
        let received = lock(&self.received);
        if received.len() >= count {
            return Some(received.clone());
        }
        if Instant::now() >= deadline {
            panic!(
                "expected {count} datagrams at {} within {timeout:?}, got {}:\n{}",
                self.path.display(),
                received.len(),
                describe(&received)
            );
        }
        None
    }
}

impl Drop for AnalysisdReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn read_until_stopped(
    socket: &UnixDatagram,
    received: &Mutex<Vec<Vec<u8>>>,
    stop: &AtomicBool,
    paused: &AtomicBool,
) {
    let mut buffer = vec![0u8; RECEIVE_BUFFER_BYTES];
    while !stop.load(Ordering::Relaxed) {
        if paused.load(Ordering::Relaxed) {
            std::thread::sleep(WAIT_POLL);
            continue;
        }
        match socket.recv(&mut buffer) {
            Ok(length) => lock(received).push(buffer[..length].to_vec()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("receiving on the analysisd socket failed: {e}"),
        }
    }
}

/// A panicking test thread must not hide the datagrams from the assertion that reports them.
fn lock(received: &Mutex<Vec<Vec<u8>>>) -> MutexGuard<'_, Vec<Vec<u8>>> {
    received
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn describe(datagrams: &[Vec<u8>]) -> String {
    const SHOWN_BYTES: usize = 200;
    datagrams
        .iter()
        .enumerate()
        .map(|(index, datagram)| {
            let shown = String::from_utf8_lossy(&datagram[..datagram.len().min(SHOWN_BYTES)]);
            let more = if datagram.len() > SHOWN_BYTES {
                "…"
            } else {
                ""
            };
            format!("  #{index} ({} bytes): {shown:?}{more}", datagram.len())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_all(path: &Path, datagrams: &[&[u8]]) {
        let sender = UnixDatagram::unbound().expect("an unbound datagram socket");
        for datagram in datagrams {
            sender.send_to(datagram, path).expect("send a datagram");
        }
    }

    #[tokio::test]
    async fn records_exact_datagrams_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("deep/queue/sockets/queue");
        let receiver = AnalysisdReceiver::bind(&path);
        let biggest = [b"1:Wazuh-AWS:".as_slice(), &[b'x'; 65_536]].concat();
        let sent: [&[u8]; 4] = [b"1:Wazuh-AWS:first", b"", &[0, 255, b'\n', 0], &biggest];
        send_all(&path, &sent);

        let received = receiver.wait_for(4, Duration::from_secs(5)).await;
        assert_eq!(received, sent.map(<[u8]>::to_vec));
        assert_eq!(received[3].len(), 65_548);
        assert_eq!(receiver.texts()[0], "1:Wazuh-AWS:first");
    }

    #[test]
    fn blocking_wait_sees_datagrams_from_another_thread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("queue");
        let receiver = AnalysisdReceiver::bind(&path);
        let sender = std::thread::spawn(move || send_all(&path, &[b"a", b"b"]));
        assert_eq!(
            receiver.wait_for_blocking(2, Duration::from_secs(5)),
            [b"a".to_vec(), b"b".to_vec()]
        );
        sender.join().expect("sender thread");
    }

    #[test]
    #[should_panic(expected = "expected 2 datagrams")]
    fn waiting_for_more_than_arrived_panics_with_what_did() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("queue");
        let receiver = AnalysisdReceiver::bind(&path);
        send_all(&path, &[b"only one"]);
        receiver.wait_for_blocking(2, Duration::from_millis(200));
    }

    #[test]
    fn a_paused_receiver_reads_nothing_until_resumed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("queue");
        let receiver = AnalysisdReceiver::bind_paused(&path);
        let sender = UnixDatagram::unbound().expect("socket");
        sender.connect(&path).expect("connect");
        sender.set_nonblocking(true).expect("non-blocking");
        let mut queued = 0;
        while sender.send(b"queued").is_ok() {
            queued += 1;
            assert!(queued < 100_000, "the queue never filled up");
        }
        assert!(queued > 0);
        assert!(receiver.datagrams().is_empty());

        receiver.resume();
        assert_eq!(
            receiver
                .wait_for_blocking(queued, Duration::from_secs(10))
                .len(),
            queued
        );
    }

    #[test]
    fn a_crash_leaves_the_file_and_a_restart_reads_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("queue");
        let mut receiver = AnalysisdReceiver::bind(&path);
        send_all(&path, &[b"before"]);
        receiver.wait_for_blocking(1, Duration::from_secs(5));

        receiver.crash();
        assert!(path.exists());
        let sender = UnixDatagram::unbound().expect("socket");
        let refused = sender.send_to(b"lost", &path).expect_err("nobody is bound");
        assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

        receiver.restart();
        send_all(&path, &[b"after"]);
        assert_eq!(
            receiver.wait_for_blocking(2, Duration::from_secs(5)),
            [b"before".to_vec(), b"after".to_vec()]
        );

        // A restart also works when the file went away in between.
        receiver.crash();
        std::fs::remove_file(&path).expect("remove the socket file");
        receiver.restart();
        send_all(&path, &[b"again"]);
        assert_eq!(
            receiver.wait_for_blocking(3, Duration::from_secs(5)).len(),
            3
        );
    }

    #[test]
    fn drop_removes_the_socket_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("queue");
        let receiver = AnalysisdReceiver::bind(&path);
        assert!(path.exists());
        drop(receiver);
        assert!(!path.exists());
        let sender = UnixDatagram::unbound().expect("socket");
        assert!(sender.send_to(b"late", &path).is_err(), "nobody listens");
    }
}
