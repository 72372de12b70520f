//! Where Wazuh lives: WAZUH_HOME and the queue socket and database paths derived from it.

use std::path::{Path, PathBuf};

/// Wazuh's usual installation directory.
pub const DEFAULT_WAZUH_HOME: &str = "/var/ossec";

/// The files this program uses, resolved once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WazuhPaths {
    pub wazuh_home: PathBuf,
    /// analysisd's queue socket, `<home>/queue/sockets/queue` unless overridden.
    pub queue_socket: PathBuf,
    /// The checkpoint database, `<home>/wodles/aws/aws_services.db` unless overridden.
    pub database: PathBuf,
}

impl WazuhPaths {
    /// Resolves the paths. The home comes from `explicit_home` (the flag or the
    /// WAZUH_HOME variable), else from where this program is installed, else
    /// [`DEFAULT_WAZUH_HOME`]; the socket and database can each be overridden.
    pub fn resolve(
        explicit_home: Option<&Path>,
        executable: Option<&Path>,
        queue_socket: Option<&Path>,
        database: Option<&Path>,
    ) -> WazuhPaths {
        let wazuh_home = explicit_home
            .map(Path::to_path_buf)
            .or_else(|| executable.and_then(home_of_installed_executable))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_WAZUH_HOME));
        WazuhPaths {
            queue_socket: queue_socket
                .map(Path::to_path_buf)
                .unwrap_or_else(|| wazuh_home.join("queue/sockets/queue")),
            database: database
                .map(Path::to_path_buf)
                .unwrap_or_else(|| wazuh_home.join("wodles/aws/aws_services.db")),
            wazuh_home,
        }
    }
}

/// The reference finds Wazuh's home from its own location, `<home>/wodles/aws/`;
/// installed in its place (as `aws-s3`, or under any name in that directory), we
/// do the same, so modulesd needs to pass nothing.
fn home_of_installed_executable(executable: &Path) -> Option<PathBuf> {
    let aws_dir = executable.parent()?;
    let wodles_dir = aws_dir.parent()?;
    let is_wodle_dir = aws_dir.file_name()? == "aws" && wodles_dir.file_name()? == "wodles";
    is_wodle_dir.then(|| wodles_dir.parent().map(Path::to_path_buf))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_home_wins() {
        let paths = WazuhPaths::resolve(
            Some(Path::new("/opt/wazuh")),
            Some(Path::new("/var/ossec/wodles/aws/aws-s3")),
            None,
            None,
        );
        assert_eq!(paths.wazuh_home, PathBuf::from("/opt/wazuh"));
        assert_eq!(
            paths.queue_socket,
            PathBuf::from("/opt/wazuh/queue/sockets/queue")
        );
        assert_eq!(
            paths.database,
            PathBuf::from("/opt/wazuh/wodles/aws/aws_services.db")
        );
    }

    #[test]
    fn home_is_derived_from_an_installed_executable() {
        let paths = WazuhPaths::resolve(
            None,
            Some(Path::new("/srv/wazuh/wodles/aws/aws-s3")),
            None,
            None,
        );
        assert_eq!(paths.wazuh_home, PathBuf::from("/srv/wazuh"));
    }

    #[test]
    fn elsewhere_the_default_home_is_used() {
        let paths = WazuhPaths::resolve(
            None,
            Some(Path::new("/usr/local/bin/wodle-aws")),
            None,
            None,
        );
        assert_eq!(paths.wazuh_home, PathBuf::from(DEFAULT_WAZUH_HOME));
        let paths = WazuhPaths::resolve(None, None, None, None);
        assert_eq!(paths.wazuh_home, PathBuf::from(DEFAULT_WAZUH_HOME));
    }

    #[test]
    fn socket_and_database_can_be_overridden() {
        let paths = WazuhPaths::resolve(
            None,
            None,
            Some(Path::new("/tmp/q")),
            Some(Path::new("/tmp/db.sqlite")),
        );
        assert_eq!(paths.queue_socket, PathBuf::from("/tmp/q"));
        assert_eq!(paths.database, PathBuf::from("/tmp/db.sqlite"));
        assert_eq!(paths.wazuh_home, PathBuf::from(DEFAULT_WAZUH_HOME));
    }
}
