//! Accounting for the fault tests: what was put into CloudWatch Logs, what
//! analysisd received, and from the two the numbers `cargo xtask faults`
//! prints (delivered, lost, duplicated, out of order).
//!
//! Every event a fault test puts carries its identity at the start of its
//! message, `"{stream}#{index} "`, so a datagram truncated to the socket's
//! limit still says which event it was. [`Ledger::message`] builds such
//! messages; [`Ledger::tally`] reads them back.
//!
//! The fault tests run at two sizes: small in `cargo xtask test` (and so on
//! CI), large in `cargo xtask faults`, which sets `WODLE_AWS_FAULTS_SCALE=full`
//! and `WODLE_AWS_FAULTS_REPORT=<file>`; each test appends its row to that file
//! with [`report`] and xtask prints the rows as a table.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;

/// How large the fault tests run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// The test suite's size: seconds per test.
    Ci,
    /// `cargo xtask faults`: the sizes issue 4 names (for example 5 streams ×
    /// 25,000 events and 20 kill points).
    Full,
}

impl Scale {
    /// `WODLE_AWS_FAULTS_SCALE=full` selects [`Scale::Full`]; anything else is [`Scale::Ci`].
    pub fn from_env() -> Scale {
        match std::env::var("WODLE_AWS_FAULTS_SCALE").as_deref() {
            Ok("full") => Scale::Full,
            _ => Scale::Ci,
        }
    }

    /// `ci` in the test suite, `full` under `cargo xtask faults`.
    pub fn pick<T>(self, ci: T, full: T) -> T {
        match self {
            Scale::Ci => ci,
            Scale::Full => full,
        }
    }
}

/// The events a test put, by stream, in the order CloudWatch Logs holds them.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    streams: BTreeMap<String, usize>,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// The message of event `index` of `stream`: its identity, a space, then `body`.
    pub fn message(stream: &str, index: usize, body: &str) -> String {
        format!("{stream}#{index} {body}")
    }

    /// Records that `stream` holds `count` more events, numbered on from what it held.
    /// Returns the first new index.
    pub fn put(&mut self, stream: &str, count: usize) -> usize {
        let held = self.streams.entry(stream.to_owned()).or_default();
        let first = *held;
        *held += count;
        first
    }

    /// Forgets `stream`: a test that deletes a stream mid-read expects only
    /// what it holds at the end, and calls this before putting it back.
    pub fn remove(&mut self, stream: &str) {
        self.streams.remove(stream);
    }

    /// How many events the ledger holds.
    pub fn total(&self) -> usize {
        self.streams.values().sum()
    }

    /// Compares what was put with what was received. `runs` holds the
    /// datagrams (text, with or without the `1:Wazuh-AWS:` header) of each
    /// run in arrival order: order is checked within a run, since a run after
    /// a crash may legitimately start again before the crash point.
    pub fn tally(&self, runs: &[Vec<String>]) -> Tally {
        let mut seen: HashMap<(&str, usize), usize> = HashMap::new();
        let mut tally = Tally {
            put: self.total(),
            ..Tally::default()
        };
        for run in runs {
            let mut last_index: HashMap<&str, usize> = HashMap::new();
            for datagram in run {
                let Some((stream, index)) = self.identify(datagram) else {
                    tally.foreign += 1;
                    continue;
                };
                let times = seen.entry((stream, index)).or_default();
                *times += 1;
                if *times > 1 {
                    tally.duplicated += 1;
                }
                if let Some(previous) = last_index.insert(stream, index)
                    && index <= previous
                {
                    tally.out_of_order += 1;
                }
            }
        }
        tally.delivered = seen.len();
        tally.lost = tally.put - tally.delivered;
        tally
    }

    fn identify<'l>(&'l self, datagram: &str) -> Option<(&'l str, usize)> {
        let message = datagram.strip_prefix("1:Wazuh-AWS:").unwrap_or(datagram);
        let identity = message.split(' ').next()?;
        let (stream, index) = identity.rsplit_once('#')?;
        let index: usize = index.parse().ok()?;
        let (stream, held) = self.streams.get_key_value(stream)?;
        (index < *held).then_some((stream.as_str(), index))
    }
}

/// What a fault test measured; see [`Ledger::tally`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Events in the ledger (what still exists in CloudWatch Logs).
    pub put: usize,
    /// Distinct ledger events received at least once.
    pub delivered: usize,
    /// Ledger events never received.
    pub lost: usize,
    /// Receptions beyond the first of an event.
    pub duplicated: usize,
    /// Receptions of an event not after the previous one of its stream, within a run.
    pub out_of_order: usize,
    /// Datagrams that are no ledger event (a deleted stream's events, a stray sender).
    pub foreign: usize,
}

impl Tally {
    /// Panics, naming `fault`, unless nothing was lost, nothing arrived out of
    /// order, and at most `max_duplicated` events were received twice.
    pub fn assert_within(&self, fault: &str, max_duplicated: usize) {
        assert!(
            self.lost == 0 && self.out_of_order == 0 && self.duplicated <= max_duplicated,
            "{fault}: {self:?} (duplicates allowed: {max_duplicated})"
        );
    }

    /// Adds `other`'s counts: a fault's row sums the tallies of its trials.
    pub fn add(&mut self, other: &Tally) {
        self.put += other.put;
        self.delivered += other.delivered;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.out_of_order += other.out_of_order;
        self.foreign += other.foreign;
    }

    /// The tallies of several trials summed.
    pub fn sum(tallies: &[Tally]) -> Tally {
        let mut all = Tally::default();
        for tally in tallies {
            all.add(tally);
        }
        all
    }
}

/// One row of `cargo xtask faults`' table. Appended as a JSON line to the file
/// `WODLE_AWS_FAULTS_REPORT` names, if set; the test suite leaves it unset.
pub fn report(fault: &str, trials: usize, tally: &Tally, outcome: &str) {
    let Some(path) = std::env::var_os("WODLE_AWS_FAULTS_REPORT") else {
        return;
    };
    // The test binary's name (`faults_aws-<hash>`) groups the rows in the table.
    let suite = std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .map(|stem| stem.split('-').next().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let line = format!(
        "{{\"suite\":{},\"fault\":{},\"trials\":{trials},\"put\":{},\"delivered\":{},\"lost\":{},\"duplicated\":{},\"out_of_order\":{},\"outcome\":{}}}\n",
        json_string(&suite),
        json_string(fault),
        tally.put,
        tally.delivered,
        tally.lost,
        tally.duplicated,
        tally.out_of_order,
        json_string(outcome),
    );
    // Tests run in parallel processes: one write of one line with O_APPEND keeps rows whole.
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open the faults report {}: {e}", path.display()));
    file.write_all(line.as_bytes())
        .unwrap_or_else(|e| panic!("write the faults report {}: {e}", path.display()));
}

fn json_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if (c as u32) < 0x20 => quoted.push_str(&format!("\\u{:04x}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Ledger {
        let mut ledger = Ledger::new();
        ledger.put("a", 3);
        ledger.put("b", 2);
        ledger
    }

    fn datagrams(ids: &[(&str, usize)]) -> Vec<String> {
        ids.iter()
            .map(|(stream, index)| format!("1:Wazuh-AWS:{}", Ledger::message(stream, *index, "x")))
            .collect()
    }

    #[test]
    fn a_complete_delivery_tallies_clean() {
        let run = datagrams(&[("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2)]);
        let tally = ledger().tally(&[run]);
        assert_eq!((tally.put, tally.delivered, tally.lost), (5, 5, 0));
        assert_eq!(
            (tally.duplicated, tally.out_of_order, tally.foreign),
            (0, 0, 0)
        );
    }

    #[test]
    fn losses_duplicates_disorder_and_strangers_are_counted() {
        let first = datagrams(&[("a", 0), ("a", 1)]);
        let second = datagrams(&[("a", 1), ("a", 0), ("b", 1), ("c", 0)]);
        let mut second = second;
        second.push("1:Wazuh-AWS:truncated without identity".into());
        let tally = ledger().tally(&[first, second]);
        assert_eq!(tally.delivered, 3);
        assert_eq!(tally.lost, 2);
        assert_eq!(tally.duplicated, 2);
        assert_eq!(tally.out_of_order, 1, "a#0 after a#1 within the second run");
        assert_eq!(
            tally.foreign, 2,
            "an unknown stream and a message without identity"
        );
    }

    #[test]
    fn report_strings_are_json_escaped() {
        assert_eq!(json_string("a \"b\"\n"), "\"a \\\"b\\\"\\u000a\"");
    }
}
