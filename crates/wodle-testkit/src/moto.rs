//! A moto server on a free loopback port, owned by one test and gone when it is dropped.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::moto_venv::ensure_moto_server;
use crate::seeder::{CloudWatchSeeder, logs_client};

/// How long moto may take to answer after being started (it needs ~0.4 s when idle; a loaded
/// CI machine running many tests at once needs more).
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// Starting over on a fresh port covers the gap between probing a port and moto binding it.
const PORT_ATTEMPTS: usize = 5;

/// A running `moto_server` on `127.0.0.1`, killed and reaped on drop (also when the test
/// panics). On Linux the process also dies with the test process if that is killed.
///
/// Its stdout and stderr go to a log file in a temporary directory (see
/// [`MotoServer::log`]), so tests print nothing of moto's unless they fail.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
    log_path: PathBuf,
    _log_dir: TempDir,
}

impl MotoServer {
    /// Starts moto and waits until it answers; panics, saying what failed and how to fix
    /// it, when moto cannot be installed or does not come up. Never skips.
    ///
    /// Blocks for about half a second, which is harmless inside `#[tokio::test]`. Call it
    /// from the test's own thread: on Linux the parent-death signal follows the thread that
    /// started moto, so a worker thread that exits early would take moto with it.
    pub fn start() -> MotoServer {
        MotoServer::start_with_env(&[])
    }

    /// [`MotoServer::start`] with extra environment variables for moto, e.g.
    /// `INITIAL_NO_AUTH_ACTION_COUNT=0`, which makes moto check every request's access key
    /// and signature as IAM would.
    pub fn start_with_env(env: &[(&str, &str)]) -> MotoServer {
        let executable = moto_server_executable();
        let log_dir = tempfile::Builder::new()
            .prefix("wodle-moto-")
            .tempdir()
            .expect("create a temporary directory for moto's log");
        let log_path = log_dir.path().join("moto.log");
        let mut failures = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_loopback_port();
            match start_on_port(&executable, port, &log_path, env) {
                Ok(child) => {
                    return MotoServer {
                        child,
                        port,
                        log_path,
                        _log_dir: log_dir,
                    };
                }
                Err(StartFailure::PortTaken(log)) => failures.push(format!("port {port}: {log}")),
                Err(StartFailure::Fatal(message)) => panic!(
                    "moto_server ({}) did not start on 127.0.0.1:{port}: {message}",
                    executable.display()
                ),
            }
        }
        panic!(
            "moto_server ({}) found every port it was given taken, {PORT_ATTEMPTS} times:\n{}",
            executable.display(),
            failures.join("\n")
        );
    }

    /// `http://127.0.0.1:PORT`, for SDK clients and `AWS_ENDPOINT_URL`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Clears every account's and region's state (`POST /moto-api/reset`).
    pub fn reset(&self) {
        let status = http_status(self.port, "POST", "/moto-api/reset")
            .unwrap_or_else(|e| panic!("POST /moto-api/reset to moto failed: {e}"));
        assert_eq!(status, 200, "POST /moto-api/reset answered {status}");
    }

    /// Everything moto printed so far (its request log and any traceback).
    pub fn log(&self) -> String {
        read_log(&self.log_path)
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// A CloudWatch Logs client for `region` with the test credentials, pointed at this server.
    pub fn logs_client(&self, region: &str) -> aws_sdk_cloudwatchlogs::Client {
        logs_client(&self.endpoint_url(), region)
    }

    /// A seeder for `region`, pointed at this server.
    pub fn seeder(&self, region: &str) -> CloudWatchSeeder {
        CloudWatchSeeder::new(&self.endpoint_url(), region)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Errors mean the process is already gone, which is the goal.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resolved once per test process: every test in it would get the same answer.
fn moto_server_executable() -> PathBuf {
    static EXECUTABLE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let resolved = EXECUTABLE.get_or_init(|| {
        let workspace_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        ensure_moto_server(&workspace_root, &mut |note| {
            eprintln!("wodle-testkit: {note}")
        })
        .map_err(|e| e.to_string())
    });
    match resolved {
        Ok(path) => path.clone(),
        Err(message) => panic!("\n\n{message}\n"),
    }
}

fn free_loopback_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("read the port the kernel chose")
        .port()
}

enum StartFailure {
    /// Someone else bound the port first: worth another try on another port.
    PortTaken(String),
    Fatal(String),
}

fn start_on_port(
    executable: &Path,
    port: u16,
    log_path: &Path,
    env: &[(&str, &str)],
) -> Result<Child, StartFailure> {
    let log = File::create(log_path).expect("create moto's log file");
    let log_for_stderr = log.try_clone().expect("duplicate moto's log file handle");
    let mut command = Command::new(executable);
    command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("PYTHONUNBUFFERED", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_for_stderr);
    die_with_parent(&mut command);
    let mut child = command
        .spawn()
        .map_err(|e| StartFailure::Fatal(format!("cannot execute it: {e}")))?;

    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().ok().flatten() {
            let log = read_log(log_path);
            return Err(if log.contains("Address already in use") {
                StartFailure::PortTaken(log)
            } else {
                StartFailure::Fatal(format!("it exited ({status}); its output:\n{log}"))
            });
        }
        // The "Running on" line proves that *our* process bound the port, so an answer
        // cannot come from another server that grabbed it in between.
        if read_log(log_path).contains(&format!("Running on http://127.0.0.1:{port}"))
            && http_status(port, "GET", "/moto-api/").is_ok_and(|status| status == 200)
        {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(StartFailure::Fatal(format!(
                "it did not answer GET /moto-api/ within {READY_TIMEOUT:?}; its output:\n{}",
                read_log(log_path)
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends a body-less HTTP/1.1 request and returns the response's status code.
fn http_status(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not an HTTP response: {:?}", response.lines().next()),
            )
        })
}

fn read_log(path: &Path) -> String {
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// Makes the kernel SIGKILL moto when the thread that started it dies, so a test process
/// killed by a timeout or a signal (where `Drop` never runs) leaves no moto behind.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;

    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed; `prctl`, `getppid` and reading a captured
    // integer are exactly that, and nothing allocates or takes a lock.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the signal was armed: then nobody would kill
            // us. (An OS error code, because building a message would allocate.)
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}
