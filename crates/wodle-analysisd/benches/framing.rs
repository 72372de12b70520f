//! Framing an event for analysisd: the header, and truncation at a character
//! boundary past the datagram limit, for a typical 200-byte event and a
//! 70 KB one (cut to 65,535 bytes).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wodle_analysisd::{DatagramLimit, frame, truncate_at_char_boundary};

/// A CloudWatch-like access log line of about 200 bytes.
fn typical_event() -> Vec<u8> {
    let line = r#"10.0.3.17 - - [26/Nov/2026:18:59:20 +0000] "GET /api/v1/orders?page=3 HTTP/1.1" 200 5123 "-" "Mozilla/5.0 (X11; Linux x86_64) wodle-bench/1.0" rt=0.012 uct=0.001"#;
    line.as_bytes().to_vec()
}

/// 70 KB of text with a multi-byte character straddling the cut.
fn long_event() -> Vec<u8> {
    let mut text = "é".repeat(35_000);
    text.push_str("tail");
    text.into_bytes()
}

fn framing(c: &mut Criterion) {
    let limit = DatagramLimit::DEFAULT;
    let mut group = c.benchmark_group("frame");
    for (name, message) in [("200B", typical_event()), ("70KB", long_event())] {
        let mut datagram = Vec::with_capacity(limit.get());
        group.throughput(Throughput::Bytes(message.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| frame(black_box(&message), limit, &mut datagram));
        });
    }
    group.finish();

    let long = long_event();
    c.bench_function("truncate_at_char_boundary/70KB", |b| {
        b.iter(|| truncate_at_char_boundary(black_box(&long), limit.max_message_len()).len());
    });
}

criterion_group!(benches, framing);
criterion_main!(benches);
