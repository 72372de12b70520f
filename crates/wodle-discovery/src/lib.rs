//! Finds what to read: regions to fan out over, and the log streams of each log group.
