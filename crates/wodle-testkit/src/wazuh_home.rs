//! A temporary directory laid out like `/var/ossec`, the Wazuh installation the binary expects.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::analysisd::AnalysisdReceiver;

/// The directories the aws wodle touches under `WAZUH_HOME`; removed on drop.
const LAYOUT: [&str; 4] = ["queue/sockets", "wodles/aws", "logs", "etc"];

#[derive(Debug)]
pub struct WazuhHome {
    dir: TempDir,
}

impl WazuhHome {
    /// Creates `queue/sockets/`, `wodles/aws/`, `logs/` and `etc/` in a fresh temporary
    /// directory.
    pub fn new() -> WazuhHome {
        let dir = tempfile::Builder::new()
            .prefix("wodle-wazuh-home-")
            .tempdir()
            .expect("create a temporary WAZUH_HOME");
        for relative in LAYOUT {
            let path = dir.path().join(relative);
            std::fs::create_dir_all(&path)
                .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        }
        WazuhHome { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `queue/sockets/queue`, where analysisd listens.
    pub fn queue_socket_path(&self) -> PathBuf {
        self.path().join("queue/sockets/queue")
    }

    /// `wodles/aws/aws_services.db`, the checkpoint database.
    pub fn database_path(&self) -> PathBuf {
        self.path().join("wodles/aws/aws_services.db")
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.path().join("logs")
    }

    pub fn etc_dir(&self) -> PathBuf {
        self.path().join("etc")
    }

    /// Plays analysisd: binds a receiver at [`WazuhHome::queue_socket_path`].
    pub fn bind_analysisd(&self) -> AnalysisdReceiver {
        AnalysisdReceiver::bind(self.queue_socket_path())
    }
}

impl Default for WazuhHome {
    fn default() -> Self {
        WazuhHome::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_a_wazuh_installation() {
        let home = WazuhHome::new();
        for relative in LAYOUT {
            assert!(home.path().join(relative).is_dir(), "{relative}");
        }
        assert_eq!(
            home.queue_socket_path(),
            home.path().join("queue/sockets/queue")
        );
        assert_eq!(
            home.database_path(),
            home.path().join("wodles/aws/aws_services.db")
        );
        assert!(home.logs_dir().is_dir() && home.etc_dir().is_dir());
    }

    #[test]
    fn analysisd_binds_at_the_queue_socket_and_everything_goes_on_drop() {
        let home = WazuhHome::new();
        let root = home.path().to_path_buf();
        let receiver = home.bind_analysisd();
        assert_eq!(receiver.path(), home.queue_socket_path());
        std::os::unix::net::UnixDatagram::unbound()
            .expect("socket")
            .send_to(b"1:Wazuh-AWS:hello", home.queue_socket_path())
            .expect("send");
        assert_eq!(
            receiver.wait_for_blocking(1, std::time::Duration::from_secs(5)),
            [b"1:Wazuh-AWS:hello".to_vec()]
        );
        drop(receiver);
        drop(home);
        assert!(!root.exists());
    }
}
