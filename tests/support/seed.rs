//! What several end-to-end test files did alike: seeding moto streams with
//! ledger events, the one-shot command's flags and `run`'s config for one group,
//! `only_logs_after`'s date format, and reading what analysisd received once
//! everything the binary sent has arrived.

use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wodle_testkit::CloudWatchSeeder;

use super::World;
use super::ledger::Ledger;

/// The header of every datagram the binary sends.
pub const HEADER: &str = "1:Wazuh-AWS:";
/// A datagram of the test's own, never a ledger event's (those name a stream).
const BARRIER: &str = "1:Wazuh-AWS:--test barrier--";

/// The one-shot command's arguments reading `group` in `region`, then `extra`.
pub fn one_shot_args<'a>(group: &'a str, region: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--service",
        "cloudwatchlogs",
        "--aws_log_groups",
        group,
        "--regions",
        region,
    ];
    args.extend_from_slice(extra);
    args
}

/// An ossec.conf whose wodle reads `group` in `region` every `interval`, from the start.
pub fn wodle_config(group: &str, region: &str, interval: &str) -> String {
    format!(
        "<wodle name=\"aws-s3\">\n  <disabled>no</disabled>\n  <interval>{interval}</interval>\n  \
         <run_on_start>yes</run_on_start>\n  <service type=\"cloudwatchlogs\">\n    \
         <aws_log_groups>{group}</aws_log_groups>\n    <regions>{region}</regions>\n  \
         </service>\n</wodle>\n"
    )
}

/// `only_logs_after`'s format, `YYYY-MMM-DD`, for the UTC day holding `millis`.
pub fn date_arg(millis: i64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .expect("a valid timestamp")
        .date();
    let month = date.month().to_string()[..3].to_ascii_uppercase();
    format!("{:04}-{month}-{:02}", date.year(), date.day())
}

/// The ledger's next `count` events of `stream`, event `i` stamped `first + i`
/// (so that a checkpoint's timestamp names its event), `body` after its identity.
pub fn ledger_events(
    ledger: &mut Ledger,
    stream: &str,
    count: usize,
    first: i64,
    body: &str,
) -> Vec<(i64, String)> {
    let from = ledger.put(stream, count);
    (from..from + count)
        .map(|i| (first + i as i64, Ledger::message(stream, i, body)))
        .collect()
}

/// Creates `stream` in `group` and puts [`ledger_events`] into it.
pub async fn put_ledger_stream(
    seeder: &CloudWatchSeeder,
    ledger: &mut Ledger,
    group: &str,
    stream: &str,
    count: usize,
    first: i64,
    body: &str,
) {
    seeder.create_log_stream(group, stream).await;
    let events = ledger_events(ledger, stream, count, first, body);
    seeder.put_events(group, stream, &events).await;
}

impl World {
    /// Every message analysisd received, in arrival order, without the header,
    /// once everything the binary sent has arrived: a datagram of ours sent now
    /// queues behind the binary's (one receive queue), so when it shows up
    /// nothing is in flight, without waiting for a while. `wait` only bounds a
    /// broken receiver.
    pub fn settled(&self, wait: Duration) -> Vec<String> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let barrier = format!("{BARRIER} {}", NEXT.fetch_add(1, Ordering::Relaxed));
        UnixDatagram::unbound()
            .expect("a datagram socket")
            .send_to(barrier.as_bytes(), self.home.queue_socket_path())
            .expect("the receiver is bound");
        let deadline = Instant::now() + wait;
        loop {
            let texts = self.analysisd.texts();
            if texts.contains(&barrier) {
                return texts
                    .into_iter()
                    .filter(|text| !text.starts_with(BARRIER))
                    .map(|text| {
                        text.strip_prefix(HEADER)
                            .unwrap_or_else(|| panic!("datagram without the header: {text:?}"))
                            .to_owned()
                    })
                    .collect();
            }
            assert!(
                Instant::now() < deadline,
                "our own datagram never arrived; {} received",
                texts.len()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
