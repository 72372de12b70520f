//! What analysisd received during one run of the wodle, and whether it is exactly what was put.

use std::collections::HashMap;
use std::fmt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use wodle_testkit::AnalysisdReceiver;

use crate::apache::SampleEvent;
use crate::error::DemoError;

/// What the wodle puts before each event, as the reference does: queue `1` (a local
/// file), location `Wazuh-AWS`.
pub const HEADER: &str = "1:Wazuh-AWS:";

/// Only a bound against hanging: the fence normally arrives within milliseconds.
const FENCE_TIMEOUT: Duration = Duration::from_secs(30);
const FENCE_POLL: Duration = Duration::from_millis(5);

/// The analysisd stand-in, read one run at a time.
#[derive(Debug)]
pub struct Analysisd {
    receiver: AnalysisdReceiver,
    /// How many datagrams (fences included) earlier runs accounted for.
    seen: usize,
    fences: u32,
}

impl Analysisd {
    pub fn bind(path: &Path) -> Analysisd {
        Analysisd {
            receiver: AnalysisdReceiver::bind(path),
            seen: 0,
            fences: 0,
        }
    }

    pub fn path(&self) -> &Path {
        self.receiver.path()
    }

    /// Everything the wodle sent since the last call; call it after the wodle exited.
    ///
    /// The wodle's datagrams are all queued on the socket by the time it exits, but the
    /// receiver thread may not have read them yet. Rather than wait an arbitrary time, this
    /// sends a fence datagram of its own: the socket's queue is first in, first out, so
    /// once the fence is read, so is everything before it.
    pub fn take_new(&mut self) -> Result<Vec<Vec<u8>>, DemoError> {
        self.fences += 1;
        let fence = format!("wodle-aws-demo fence {}", self.fences).into_bytes();
        UnixDatagram::unbound()
            .and_then(|socket| socket.send_to(&fence, self.receiver.path()))
            .map_err(DemoError::Fence)?;
        let deadline = Instant::now() + FENCE_TIMEOUT;
        loop {
            if let Some((new, next)) = until_fence(&self.receiver.datagrams(), self.seen, &fence) {
                self.seen = next;
                return Ok(new);
            }
            if Instant::now() >= deadline {
                return Err(DemoError::FenceTimeout(FENCE_TIMEOUT));
            }
            std::thread::sleep(FENCE_POLL);
        }
    }
}

/// The datagrams from index `from` up to `fence`, and the index just after it; `None`
/// while the fence has not arrived.
pub fn until_fence(
    datagrams: &[Vec<u8>],
    from: usize,
    fence: &[u8],
) -> Option<(Vec<Vec<u8>>, usize)> {
    let after = datagrams.get(from..)?;
    let at = after.iter().position(|datagram| datagram == fence)?;
    Some((after[..at].to_vec(), from + at + 1))
}

/// A datagram as one printable line: invalid UTF-8 replaced, control characters escaped,
/// so what is shown is what analysisd would read, on one line.
pub fn printable(datagram: &[u8]) -> String {
    String::from_utf8_lossy(datagram)
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// How the datagrams of a run differ from the events put; empty when each event arrived
/// exactly once, with the header, and each stream's events in time order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DeliveryCheck {
    /// Put but never received.
    pub missing: Vec<String>,
    /// Received but never put (or without the header).
    pub unexpected: Vec<String>,
    /// Received more than once.
    pub duplicated: Vec<String>,
    /// Streams whose events arrived out of time order.
    pub out_of_order: Vec<&'static str>,
}

impl DeliveryCheck {
    /// Compares the datagrams with the events; the sample's lines are unique, so each
    /// datagram names its event.
    pub fn of(expected: &[SampleEvent], received: &[Vec<u8>]) -> DeliveryCheck {
        let mut check = DeliveryCheck::default();
        let index: HashMap<String, usize> = expected
            .iter()
            .enumerate()
            .map(|(position, event)| (format!("{HEADER}{}", event.message), position))
            .collect();
        let mut arrivals = vec![0usize; expected.len()];
        let mut last_time: HashMap<&'static str, i64> = HashMap::new();
        for datagram in received {
            let text = printable(datagram);
            let Some(&position) = index.get(&text) else {
                check.unexpected.push(text);
                continue;
            };
            arrivals[position] += 1;
            if arrivals[position] > 1 {
                check.duplicated.push(text);
                continue;
            }
            let event = &expected[position];
            let previous = last_time.insert(event.stream, event.timestamp);
            if previous.is_some_and(|previous| previous > event.timestamp)
                && !check.out_of_order.contains(&event.stream)
            {
                check.out_of_order.push(event.stream);
            }
        }
        check.missing = expected
            .iter()
            .zip(&arrivals)
            .filter(|(_, count)| **count == 0)
            .map(|(event, _)| event.message.clone())
            .collect();
        check
    }

    pub fn is_exact(&self) -> bool {
        *self == DeliveryCheck::default()
    }
}

impl fmt::Display for DeliveryCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lists = [
            ("put but not received", &self.missing),
            ("received but not put", &self.unexpected),
            ("received more than once", &self.duplicated),
        ];
        for (what, lines) in lists {
            if !lines.is_empty() {
                writeln!(f, "{} {what}:", lines.len())?;
                for line in lines {
                    writeln!(f, "  {line}")?;
                }
            }
        }
        if !self.out_of_order.is_empty() {
            writeln!(
                f,
                "out of time order in stream(s): {}",
                self.out_of_order.join(", ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(stream: &'static str, timestamp: i64, message: &str) -> SampleEvent {
        SampleEvent {
            stream,
            timestamp,
            message: message.to_owned(),
        }
    }

    fn datagram(message: &str) -> Vec<u8> {
        format!("{HEADER}{message}").into_bytes()
    }

    #[test]
    fn a_fence_splits_runs() {
        let fence = b"fence 1".to_vec();
        let all = vec![b"a".to_vec(), b"b".to_vec(), fence.clone(), b"c".to_vec()];
        assert_eq!(
            until_fence(&all, 0, &fence),
            Some((vec![b"a".to_vec(), b"b".to_vec()], 3))
        );
        assert_eq!(until_fence(&all, 3, &fence), None, "not arrived yet");
        let later = [all.clone(), vec![b"fence 2".to_vec()]].concat();
        assert_eq!(
            until_fence(&later, 3, b"fence 2"),
            Some((vec![b"c".to_vec()], 5))
        );
        assert_eq!(until_fence(&all, 9, &fence), None);
    }

    #[test]
    fn each_take_returns_what_arrived_since_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let mut analysisd = Analysisd::bind(&dir.path().join("queue"));
        let sender = UnixDatagram::unbound().unwrap();
        for datagram in [b"one".as_slice(), b"two"] {
            sender.send_to(datagram, analysisd.path()).unwrap();
        }
        assert_eq!(
            analysisd.take_new().unwrap(),
            [b"one".to_vec(), b"two".to_vec()]
        );
        assert!(analysisd.take_new().unwrap().is_empty());
        sender.send_to(b"three", analysisd.path()).unwrap();
        assert_eq!(analysisd.take_new().unwrap(), [b"three".to_vec()]);
    }

    #[test]
    fn printable_keeps_one_line_per_datagram() {
        assert_eq!(printable(b"1:Wazuh-AWS:a\tb\nc"), "1:Wazuh-AWS:a\\tb\\nc");
        assert_eq!(printable(&[b'x', 0xff]), "x\u{fffd}");
    }

    #[test]
    fn streams_may_interleave_but_each_keeps_its_order() {
        let expected = [
            event("a", 1, "a1"),
            event("b", 2, "b1"),
            event("a", 3, "a2"),
        ];
        let received = [datagram("b1"), datagram("a1"), datagram("a2")];
        let check = DeliveryCheck::of(&expected, &received);
        assert!(check.is_exact(), "{check}");

        let swapped = [datagram("a2"), datagram("b1"), datagram("a1")];
        let check = DeliveryCheck::of(&expected, &swapped);
        assert_eq!(check.out_of_order, ["a"]);
        assert!(!check.is_exact());
    }

    #[test]
    fn missing_unexpected_and_duplicated_are_named() {
        let expected = [
            event("a", 1, "a1"),
            event("a", 2, "a2"),
            event("a", 3, "a3"),
        ];
        let received = [
            datagram("a1"),
            datagram("a1"),
            b"a3".to_vec(),
            datagram("a3"),
        ];
        let check = DeliveryCheck::of(&expected, &received);
        assert_eq!(check.missing, ["a2"]);
        assert_eq!(
            check.unexpected,
            ["a3"],
            "the header is part of the datagram"
        );
        assert_eq!(check.duplicated, [format!("{HEADER}a1")]);
        assert!(check.out_of_order.is_empty());
        let shown = check.to_string();
        assert!(shown.contains("1 put but not received:\n  a2\n"), "{shown}");
    }
}
