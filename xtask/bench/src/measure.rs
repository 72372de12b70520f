//! Running the collector as a child and measuring it: wall time, the child's own CPU time
//! and peak RSS (wait4), and what a real analysisd socket received.

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::BenchError;

/// Every datagram the collector sends starts with this.
const HEADER: &[u8] = b"1:Wazuh-AWS:";
/// After the child exits, how long the receiver may go without a datagram before the count
/// is taken as final (what was sent is already queued on the socket).
const DRAIN_QUIET: Duration = Duration::from_secs(2);

/// What one run of the collector cost.
#[derive(Debug, Clone)]
pub struct ChildRun {
    pub spawned_at: Instant,
    pub wall: Duration,
    pub user: Duration,
    pub system: Duration,
    pub peak_rss_bytes: u64,
}

impl ChildRun {
    pub fn cpu(&self) -> Duration {
        self.user + self.system
    }
}

/// Runs `command` to its end, measuring it; an exit code other than 0 is an error carrying
/// its stderr.
pub fn run_child(mut command: Command, scratch: &Path) -> Result<ChildRun, BenchError> {
    let stderr_path = scratch.join("collector.stderr");
    let stderr =
        File::create(&stderr_path).map_err(|e| BenchError::io("create the stderr file", e))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    let spawned_at = Instant::now();
    let child = command
        .spawn()
        .map_err(|e| BenchError::io("start wodle-aws", e))?;
    let pid = libc::pid_t::try_from(child.id())
        .map_err(|_| BenchError::Failed(format!("pid {} out of range", child.id())))?;
    let (status, usage) = wait4(pid).map_err(|e| BenchError::io("wait for wodle-aws", e))?;
    let wall = spawned_at.elapsed();
    // Reaped above: the handle has nothing left to wait for.
    drop(child);
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    if code != Some(0) {
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(BenchError::Failed(format!(
            "wodle-aws exited with {} (wait status {status}):\n{}",
            code.map_or("a signal".to_owned(), |code| code.to_string()),
            tail.join("\n")
        )));
    }
    Ok(ChildRun {
        spawned_at,
        wall,
        user: timeval(usage.ru_utime),
        system: timeval(usage.ru_stime),
        // Linux reports kilobytes.
        peak_rss_bytes: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
    })
}

fn timeval(value: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(value.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(value.tv_usec).unwrap_or(0))
}

/// Waits for `pid` and returns its wait status and its own resource usage: unlike
/// getrusage(RUSAGE_CHILDREN), which sums every child reaped so far (moto's too), this is the
/// collector's alone.
#[allow(unsafe_code)]
fn wait4(pid: libc::pid_t) -> std::io::Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals that wait4 only writes into.
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if waited == pid {
            return Ok((status, usage));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// analysisd's queue socket, counting datagrams on its own thread.
#[derive(Debug)]
pub struct Receiver {
    received: Arc<AtomicU64>,
    malformed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    pub fn bind(path: &Path) -> Result<Receiver, BenchError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| BenchError::io("create queue/sockets", e))?;
        }
        let socket =
            UnixDatagram::bind(path).map_err(|e| BenchError::io("bind the analysisd socket", e))?;
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .map_err(|e| BenchError::io("set the receiver's timeout", e))?;
        let received = Arc::new(AtomicU64::new(0));
        let malformed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("bench-analysisd".into())
            .spawn({
                let received = Arc::clone(&received);
                let malformed = Arc::clone(&malformed);
                let stop = Arc::clone(&stop);
                move || {
                    let mut buffer = vec![0u8; 1 << 20];
                    while !stop.load(Ordering::Relaxed) {
                        match socket.recv(&mut buffer) {
                            Ok(length) => {
                                if !buffer[..length].starts_with(HEADER) {
                                    malformed.fetch_add(1, Ordering::Relaxed);
                                }
                                received.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e)
                                if matches!(
                                    e.kind(),
                                    ErrorKind::WouldBlock
                                        | ErrorKind::TimedOut
                                        | ErrorKind::Interrupted
                                ) => {}
                            Err(e) => {
                                eprintln!("bench: receiving on the analysisd socket failed: {e}");
                                return;
                            }
                        }
                    }
                }
            })
            .map_err(|e| BenchError::io("start the receiver thread", e))?;
        Ok(Receiver {
            received,
            malformed,
            stop,
            thread: Some(thread),
        })
    }

    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The count once `expected` arrived or nothing more came for a while; an error if it
    /// is not `expected` or a datagram lacked the header.
    pub fn expect_total(&self, expected: u64) -> Result<u64, BenchError> {
        let mut last = self.received();
        let mut quiet_since = Instant::now();
        while last < expected && quiet_since.elapsed() < DRAIN_QUIET {
            std::thread::sleep(Duration::from_millis(10));
            let now = self.received();
            if now != last {
                last = now;
                quiet_since = Instant::now();
            }
        }
        // A few more milliseconds show any datagram beyond the expected.
        std::thread::sleep(Duration::from_millis(50));
        let total = self.received();
        let malformed = self.malformed.load(Ordering::Relaxed);
        if total != expected || malformed != 0 {
            return Err(BenchError::Failed(format!(
                "analysisd received {total} datagrams ({malformed} without the header), expected {expected}"
            )));
        }
        Ok(total)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
