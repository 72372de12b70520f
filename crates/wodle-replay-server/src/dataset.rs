//! What the server replays: groups, streams, and the deterministic event generator.

/// Groups of streams of generated events. Every region sees the same groups.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub groups: Vec<LogGroup>,
    /// The timestamp (epoch ms) of every stream's first event; event `i` is one ms later
    /// per index.
    pub first_timestamp: i64,
    /// How many bytes of page bodies may be kept built; pages beyond are built per request.
    pub page_cache_bytes: usize,
}

/// One log group and its streams (served sorted by name, as AWS lists them).
#[derive(Clone, Debug)]
pub struct LogGroup {
    pub name: String,
    pub streams: Vec<LogStream>,
}

/// One stream: `events` events whose messages are `message_bytes` long (longer if the
/// stream's name and the index do not fit in that).
#[derive(Clone, Debug)]
pub struct LogStream {
    pub name: String,
    pub events: u64,
    pub message_bytes: usize,
}

/// The default [`Dataset::page_cache_bytes`]: enough for a million 200-byte events.
pub const DEFAULT_PAGE_CACHE_BYTES: usize = 512 * 1024 * 1024;

impl Dataset {
    /// One group `group` of `streams` streams named `stream-0000`, `stream-0001`, ..., each
    /// holding `events_per_stream` events of `message_bytes`.
    pub fn uniform(
        first_timestamp: i64,
        group: &str,
        streams: usize,
        events_per_stream: u64,
        message_bytes: usize,
    ) -> Dataset {
        Dataset {
            groups: vec![LogGroup {
                name: group.to_owned(),
                streams: (0..streams)
                    .map(|index| LogStream {
                        name: format!("stream-{index:04}"),
                        events: events_per_stream,
                        message_bytes,
                    })
                    .collect(),
            }],
            first_timestamp,
            page_cache_bytes: DEFAULT_PAGE_CACHE_BYTES,
        }
    }

    /// Every event of every stream.
    pub fn total_events(&self) -> u64 {
        self.groups
            .iter()
            .flat_map(|group| &group.streams)
            .map(|stream| stream.events)
            .sum()
    }
}

/// The message of event `index` of `stream`: `"{stream}#{index} "` padded with `x` to
/// `message_bytes` bytes.
pub fn message(stream: &str, index: u64, message_bytes: usize) -> String {
    let mut text = format!("{stream}#{index} ");
    let padding = message_bytes.saturating_sub(text.len());
    text.extend(std::iter::repeat_n('x', padding));
    text
}
