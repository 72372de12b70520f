//! The pull engine: reads a log stream page by page and hands its events to a sink.
