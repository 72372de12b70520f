/// Everything that can go wrong building a [`DiscardFilter`](crate::DiscardFilter).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscardError {
    /// The pattern compiled as a `regex::Regex` but not as the anchored
    /// searcher built from it. Both use the same engine and limits, so this
    /// means an engine change, not a bad pattern; it is typed so that it
    /// cannot pass unnoticed.
    #[error(
        "the discard_regex pattern '{pattern}' cannot be anchored at the start of a message: {source}"
    )]
    Anchoring {
        pattern: String,
        #[source]
        source: Box<regex_automata::meta::BuildError>,
    },
}
