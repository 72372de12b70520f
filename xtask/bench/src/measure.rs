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
    let peak = PeakRssSampler::start(pid);
    let waited = wait4(pid);
    let wall = spawned_at.elapsed();
    let peak_rss_bytes = peak.stop();
    let (status, usage) = waited.map_err(|e| BenchError::io("wait for wodle-aws", e))?;
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
        peak_rss_bytes,
    })
}

fn timeval(value: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(value.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(value.tv_usec).unwrap_or(0))
}

/// How often the child's peak RSS is read while it runs.
const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// Reads the child's `VmHWM` (the high-water mark of its own address space) from
/// `/proc/PID/status` until stopped, keeping the last value read.
///
/// Not wait4's `ru_maxrss`: on Linux that also counts the address space the child was
/// forked from (exec records the old one's high-water mark), i.e. this harness's hundreds of
/// megabytes of replay pages and seeded events. The mark only grows, so the last sample
/// misses at most the last few milliseconds' growth.
struct PeakRssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl PeakRssSampler {
    fn start(pid: libc::pid_t) -> PeakRssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let status = format!("/proc/{pid}/status");
        let thread = std::thread::Builder::new()
            .name("bench-rss".into())
            .spawn({
                let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
                move || {
                    while !stop.load(Ordering::Relaxed) {
                        // A zombie's status has no Vm lines: the last value stands.
                        if let Some(kilobytes) = std::fs::read_to_string(&status)
                            .ok()
                            .as_deref()
                            .and_then(vm_hwm_kilobytes)
                        {
                            peak.fetch_max(kilobytes * 1024, Ordering::Relaxed);
                        }
                        std::thread::sleep(RSS_SAMPLE_EVERY);
                    }
                }
            })
            .ok();
        PeakRssSampler { stop, peak, thread }
    }

    /// Stops sampling (before the pid can be reused) and returns the peak in bytes.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

fn vm_hwm_kilobytes(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(test: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-bench-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn vm_hwm_is_read_in_bytes_from_proc_status() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(vm_hwm_kilobytes(status), Some(1234));
        assert_eq!(vm_hwm_kilobytes("Name:\tzombie\nState:\tZ\n"), None);
    }

    #[test]
    fn the_peak_rss_is_the_childs_own_not_the_harness_it_was_spawned_from() {
        // 256 MB touched here: wait4's ru_maxrss would report at least that for any child.
        let harness_memory = vec![1u8; 256 * 1024 * 1024];
        let mut command = Command::new("sleep");
        command.arg("0.2");
        let run = run_child(command, &scratch("peak")).unwrap();
        assert!(run.peak_rss_bytes > 0, "a sample was taken");
        assert!(
            run.peak_rss_bytes < 64 * 1024 * 1024,
            "sleep's own peak, not ours: {} bytes",
            run.peak_rss_bytes
        );
        assert!(run.wall >= Duration::from_millis(200));
        assert_eq!(harness_memory[harness_memory.len() - 1], 1);
    }

    #[test]
    fn a_failing_child_is_an_error() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo broken >&2; exit 3"]);
        let error = run_child(command, &scratch("failing")).unwrap_err();
        assert!(error.to_string().contains("exited with 3"), "{error}");
        assert!(error.to_string().contains("broken"), "{error}");
    }
}
