//! Test support: a moto emulator on loopback, seeding through the SDK, and an analysisd receiver.
//!
//! Everything here is for tests and panics (with a message saying what failed) instead of
//! returning errors: a broken fixture is a broken test. The pieces:
//!
//! - [`MotoServer`]: moto's `moto_server` on a free `127.0.0.1` port, installed on first use
//!   into `target/moto-venv` (or taken from `$WODLE_AWS_MOTO_SERVER`), killed on drop.
//! - [`CloudWatchSeeder`] and [`logs_client`]: SDK clients with static test credentials,
//!   pointed at the emulator, for creating groups, streams and events.
//! - [`AnalysisdReceiver`]: a real `AF_UNIX` datagram socket recording what a sender
//!   delivers, and [`WazuhHome`], a temporary `/var/ossec` to bind it in.
//! - [`TestCa`] and [`TlsFront`]: a throwaway CA and an `https://` loopback front for moto
//!   with a certificate it signed, for CA bundle tests.
//! - [`spawn_loopback_server`] and [`accept_until`]: the start-up and accept loop of the loopback servers of the fault proxy and the
//!   benchmark's replay server.
//! - [`AwsFiles`] and [`ChildEnv`]: temporary `~/.aws` files and the environment that makes
//!   a child process use only them and the emulator.
//!
//! ```no_run
//! # async fn example() {
//! use wodle_testkit::{MotoServer, now_millis};
//!
//! let moto = MotoServer::start();
//! let seeder = moto.seeder("us-east-1");
//! seeder.create_log_group("app").await;
//! seeder.create_log_stream("app", "web-1").await;
//! seeder.put_events("app", "web-1", &[(now_millis(), "GET /index.html 200")]).await;
//! # }
//! ```

mod accept;
mod analysisd;
mod aws_files;
mod moto;
mod moto_venv;
mod seeder;
mod tls;
mod wazuh_home;

pub use accept::{accept_until, spawn_loopback_server};
pub use analysisd::AnalysisdReceiver;
pub use aws_files::{AwsFiles, ChildEnv};
pub use moto::MotoServer;
pub use moto_venv::{MOTO_SERVER_ENV, MotoSetupError, ensure_moto_server};
pub use seeder::{
    CloudWatchSeeder, MOTO_DEFAULT_ACCOUNT_ID, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY,
    logs_client, now_millis,
};
pub use tls::{LoopbackServer, TestCa, TlsFront};
pub use wazuh_home::WazuhHome;
