use crate::AnalysisdError;

/// What analysisd expects before every event from this wodle: queue id `1`
/// (a local event) and the location `Wazuh-AWS`, which its AWS decoders match.
pub const HEADER: &[u8] = b"1:Wazuh-AWS:";

/// analysisd's largest message (`OS_MAXSTR`), terminating NUL included.
pub const OS_MAXSTR: usize = 65_536;

/// The largest datagram, header included, that analysisd is sent.
///
/// The default, `OS_MAXSTR - 1`, is the most analysisd can take whole once it
/// adds its terminating NUL. CloudWatch events can be up to 1 MB, so longer
/// ones are truncated to fit (see [`frame`]) rather than cut by the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatagramLimit(usize);

impl DatagramLimit {
    /// `OS_MAXSTR - 1` = 65,535 bytes.
    pub const DEFAULT: Self = Self(OS_MAXSTR - 1);
    /// The header plus one byte: a smaller limit could not carry any event.
    pub const MIN: usize = HEADER.len() + 1;
    /// 4 MiB: four times the largest CloudWatch event. Linux cannot allocate
    /// much larger Unix datagrams (the part it does not page must fit one
    /// `kmalloc`, 4 MiB with 4 KiB pages): a bigger limit would make the
    /// kernel refuse a long event with `ENOBUFS` forever.
    pub const MAX: usize = 4 * 1024 * 1024;

    /// A limit of `bytes` per datagram, header included.
    pub fn new(bytes: usize) -> Result<Self, AnalysisdError> {
        if (Self::MIN..=Self::MAX).contains(&bytes) {
            Ok(Self(bytes))
        } else {
            Err(AnalysisdError::InvalidLimit {
                limit: bytes,
                min: Self::MIN,
                max: Self::MAX,
            })
        }
    }

    /// The limit in bytes, header included.
    pub fn get(self) -> usize {
        self.0
    }

    /// How many bytes of an event fit after the header.
    pub fn max_message_len(self) -> usize {
        self.0 - HEADER.len()
    }
}

impl Default for DatagramLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How an event went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a truncated event should be counted and reported"]
pub enum SendOutcome {
    /// The whole event was sent.
    Delivered,
    /// Only the first `kept_len` of `original_len` bytes fit in the datagram
    /// limit in force, `limit` (which the send buffer may have lowered below
    /// the configured one), and were sent.
    Truncated {
        original_len: usize,
        kept_len: usize,
        limit: DatagramLimit,
    },
}

/// Writes the datagram for `message` into `datagram` (cleared first), cutting
/// the message to fit `limit` with [`truncate_at_char_boundary`].
///
/// The buffer is the caller's so that one allocation serves a whole run.
pub fn frame(message: &[u8], limit: DatagramLimit, datagram: &mut Vec<u8>) -> SendOutcome {
    datagram.clear();
    frame_after(message, limit, datagram)
}

/// [`frame`], appending the datagram to what `buffer` already holds: a batch
/// frames all its events back to back in one buffer, without a copy each.
pub(crate) fn frame_after(
    message: &[u8],
    limit: DatagramLimit,
    datagram: &mut Vec<u8>,
) -> SendOutcome {
    let kept = truncate_at_char_boundary(message, limit.max_message_len());
    datagram.reserve(HEADER.len() + kept.len());
    datagram.extend_from_slice(HEADER);
    datagram.extend_from_slice(kept);
    if kept.len() == message.len() {
        SendOutcome::Delivered
    } else {
        SendOutcome::Truncated {
            original_len: message.len(),
            kept_len: kept.len(),
            limit,
        }
    }
}

/// The longest prefix of `bytes` no longer than `max_len` that does not end
/// inside a UTF-8 character.
///
/// Only a message that is valid UTF-8 up to the cut is cut at a character
/// boundary; in one that is not text anyway, moving the cut would protect
/// nothing, so it is cut at exactly `max_len`.
pub fn truncate_at_char_boundary(bytes: &[u8], max_len: usize) -> &[u8] {
    if bytes.len() <= max_len {
        // Fits as it is, whatever it ends with.
        return bytes;
    }
    let prefix = &bytes[..max_len];
    match std::str::from_utf8(prefix) {
        Ok(_) => prefix,
        // `error_len() == None`: the only problem is a character that the cut
        // left incomplete.
        Err(error) if error.error_len().is_none() => &prefix[..error.valid_up_to()],
        Err(_) => prefix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(bytes: usize) -> DatagramLimit {
        DatagramLimit::new(bytes).unwrap()
    }

    fn framed(message: &[u8], limit: DatagramLimit) -> (Vec<u8>, SendOutcome) {
        let mut datagram = Vec::new();
        let outcome = frame(message, limit, &mut datagram);
        (datagram, outcome)
    }

    #[test]
    fn ascii_is_cut_at_the_limit() {
        assert_eq!(truncate_at_char_boundary(b"abcdef", 4), b"abcd");
        assert_eq!(truncate_at_char_boundary(b"abcdef", 0), b"");
    }

    #[test]
    fn a_message_that_fits_is_untouched() {
        assert_eq!(truncate_at_char_boundary(b"abcd", 4), b"abcd");
        assert_eq!(truncate_at_char_boundary(b"abcd", 100), b"abcd");
        assert_eq!(truncate_at_char_boundary("é".as_bytes(), 2), "é".as_bytes());
        // Ends inside a character, but nothing needs cutting.
        assert_eq!(truncate_at_char_boundary(b"ab\xE2\x82", 4), b"ab\xE2\x82");
    }

    #[test]
    fn a_character_straddling_the_cut_is_left_out_whole() {
        // 2-, 3- and 4-byte characters, cut after each of their bytes.
        for character in ["é", "€", "😀"] {
            let message = format!("ab{character}cd");
            let width = character.len();
            for cut in 2..2 + width {
                assert_eq!(
                    truncate_at_char_boundary(message.as_bytes(), cut),
                    b"ab",
                    "{character} cut at {cut}"
                );
            }
            assert_eq!(
                truncate_at_char_boundary(message.as_bytes(), 2 + width),
                format!("ab{character}").as_bytes()
            );
        }
    }

    #[test]
    fn invalid_utf8_is_cut_at_the_byte_limit() {
        // 0xFF can never appear in UTF-8; what follows looks like a cut "€".
        let message = b"a\xFFb\xE2\x82\xACc";
        assert_eq!(truncate_at_char_boundary(message, 5), b"a\xFFb\xE2\x82");
        // A lone continuation byte is just as invalid.
        assert_eq!(truncate_at_char_boundary(b"\x80abc", 2), b"\x80a");
    }

    #[test]
    fn an_incomplete_character_before_the_cut_is_invalid_utf8() {
        // "€" missing its last byte, then ASCII: invalid before the cut.
        assert_eq!(truncate_at_char_boundary(b"\xE2\x82abc", 4), b"\xE2\x82ab");
    }

    #[test]
    fn frame_prefixes_the_header() {
        let (datagram, outcome) = framed(b"GET / 200", DatagramLimit::DEFAULT);
        assert_eq!(datagram, b"1:Wazuh-AWS:GET / 200");
        assert_eq!(outcome, SendOutcome::Delivered);
    }

    #[test]
    fn an_empty_message_is_the_header_alone() {
        let (datagram, outcome) = framed(b"", DatagramLimit::DEFAULT);
        assert_eq!(datagram, HEADER);
        assert_eq!(outcome, SendOutcome::Delivered);
    }

    #[test]
    fn a_datagram_exactly_at_the_limit_is_not_truncated() {
        let message = vec![b'x'; DatagramLimit::DEFAULT.max_message_len()];
        let (datagram, outcome) = framed(&message, DatagramLimit::DEFAULT);
        assert_eq!(datagram.len(), 65_535);
        assert_eq!(outcome, SendOutcome::Delivered);

        let one_more = vec![b'x'; message.len() + 1];
        let (datagram, outcome) = framed(&one_more, DatagramLimit::DEFAULT);
        assert_eq!(datagram.len(), 65_535);
        assert_eq!(
            outcome,
            SendOutcome::Truncated {
                original_len: 65_524,
                kept_len: 65_523,
                limit: DatagramLimit::DEFAULT
            }
        );
    }

    #[test]
    fn frame_truncates_at_a_character_boundary() {
        // Header (12) + "ab" fills 14; "€" would need 17.
        let (datagram, outcome) = framed("ab€cd".as_bytes(), limit(16));
        assert_eq!(datagram, b"1:Wazuh-AWS:ab");
        assert_eq!(
            outcome,
            SendOutcome::Truncated {
                original_len: 7,
                kept_len: 2,
                limit: limit(16)
            }
        );
    }

    #[test]
    fn the_buffer_is_reused_and_cleared() {
        let mut datagram = Vec::with_capacity(64);
        let _ = frame(
            b"a long first message",
            DatagramLimit::DEFAULT,
            &mut datagram,
        );
        let capacity = datagram.capacity();
        let _ = frame(b"short", DatagramLimit::DEFAULT, &mut datagram);
        assert_eq!(datagram, b"1:Wazuh-AWS:short");
        assert_eq!(datagram.capacity(), capacity);
    }

    #[test]
    fn limits_outside_the_range_are_refused() {
        assert!(DatagramLimit::new(HEADER.len()).is_err());
        assert!(DatagramLimit::new(DatagramLimit::MAX + 1).is_err());
        assert_eq!(
            DatagramLimit::new(DatagramLimit::MIN)
                .unwrap()
                .max_message_len(),
            1
        );
        assert_eq!(DatagramLimit::default().get(), 65_535);
    }
}
