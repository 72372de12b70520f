//! The socket against a real bound receiver standing in for analysisd, in a
//! temporary WAZUH_HOME.
//!
//! Durations here are bounds that keep a broken build from hanging, or waits
//! that the code under test must sit out; no assertion depends on how fast
//! the machine is.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use wodle_analysisd::{
    AnalysisdError, AnalysisdSocket, DatagramLimit, FileKind, HEADER, Interrupt, LimitLowered,
    SendOutcome, SocketOptions,
};
use wodle_testkit::{AnalysisdReceiver, WazuhHome};

/// Long enough that no test reaches it unless the code under test is broken.
const NEVER: Duration = Duration::from_secs(30);
/// A short bound for the tests that must see it run out.
const SHORT: Duration = Duration::from_millis(200);
/// How long analysisd stays away in the tests where it comes back.
const AWAY: Duration = Duration::from_millis(300);

fn datagram(message: &[u8]) -> Vec<u8> {
    [HEADER, message].concat()
}

/// Options whose bounds are `connect` at start and `stall` per send.
fn options(connect: Duration, stall: Duration) -> SocketOptions {
    SocketOptions {
        connect_timeout: connect,
        stall_timeout: stall,
        ..SocketOptions::default()
    }
}

fn connect(path: &Path, stall: Duration) -> AnalysisdSocket {
    AnalysisdSocket::connect_with(path, options(NEVER, stall))
        .expect("connecting to the stand-in analysisd")
}

fn sysctl(name: &str) -> usize {
    let path = format!("/proc/sys/net/core/{name}");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("parsing {path}: {e}"))
}

/// The send buffer Linux grants a fresh socket asked for room for `limit`
/// (socket(7): the request is capped at `wmem_max`, then doubled).
fn expected_send_buffer(limit: DatagramLimit) -> usize {
    let needed = limit.get() + 32;
    let default = sysctl("wmem_default");
    if default >= needed {
        default
    } else {
        2 * needed.min(sysctl("wmem_max"))
    }
}

#[test]
fn events_arrive_byte_for_byte_one_datagram_each() {
    let home = WazuhHome::new();
    let analysisd = home.bind_analysisd();
    let mut socket = AnalysisdSocket::connect(home.queue_socket_path()).unwrap();
    let events: [&[u8]; 6] = [
        b"127.0.0.1 - - [31/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 12",
        b"{\"eventVersion\":\"1.08\",\"nested\":{\"a\":[1,2]}}",
        b"multi\nline\r\nevent\n",
        b"nul\0inside\0",
        "non-ASCII: café, 東京, 😀".as_bytes(),
        b"",
    ];
    for event in events {
        assert_eq!(socket.send_event(event).unwrap(), SendOutcome::Delivered);
    }
    let expected: Vec<_> = events.iter().map(|event| datagram(event)).collect();
    assert_eq!(analysisd.wait_for_blocking(events.len(), NEVER), expected);
    assert_eq!(socket.limit(), DatagramLimit::DEFAULT);
    assert_eq!(socket.limit_lowered(), None);
}

#[test]
fn a_1_mb_event_is_truncated_to_exactly_65535_bytes_at_a_character_boundary() {
    let home = WazuhHome::new();
    let analysisd = home.bind_analysisd();
    let mut socket = AnalysisdSocket::connect(home.queue_socket_path()).unwrap();
    let room = 65_535 - HEADER.len();

    // "€" (3 bytes) straddles the cut: it is left out whole.
    let mut message = vec![b'a'; room - 1];
    message.extend_from_slice("€".as_bytes());
    message.resize(1_048_576, b'z');
    assert_eq!(
        socket.send_event(&message).unwrap(),
        SendOutcome::Truncated {
            original_len: 1_048_576,
            kept_len: room - 1,
            limit: DatagramLimit::DEFAULT,
        }
    );

    // Plain ASCII fills the datagram to the byte, header included.
    let ascii = vec![b'x'; 1_048_576];
    assert_eq!(
        socket.send_event(&ascii).unwrap(),
        SendOutcome::Truncated {
            original_len: 1_048_576,
            kept_len: room,
            limit: DatagramLimit::DEFAULT,
        }
    );

    let received = analysisd.wait_for_blocking(2, NEVER);
    assert_eq!(received[0], datagram(&message[..room - 1]));
    assert_eq!(received[0].len(), 65_534);
    assert_eq!(received[1], datagram(&ascii[..room]));
    assert_eq!(received[1].len(), 65_535);
}

#[test]
fn a_300_000_byte_limit_raises_the_send_buffer_and_a_250_kb_event_arrives_whole() {
    let home = WazuhHome::new();
    let analysisd = home.bind_analysisd();
    // Above net.core.wmem_default (212,992 bytes on Linux), so the send
    // buffer must grow for such datagrams to pass.
    let limit = DatagramLimit::new(300_000).unwrap();
    let options = SocketOptions {
        limit,
        ..SocketOptions::default()
    };
    let mut socket = AnalysisdSocket::connect_with(home.queue_socket_path(), options).unwrap();
    assert!(
        expected_send_buffer(limit) >= 300_032,
        "net.core.wmem_max is below 150,016 bytes on this machine: the limit would be lowered"
    );
    assert_eq!(socket.limit(), limit);
    assert_eq!(socket.limit_lowered(), None);

    let whole: Vec<u8> = (0..250_000).map(|i| b"0123456789"[i % 10]).collect();
    assert_eq!(socket.send_event(&whole).unwrap(), SendOutcome::Delivered);
    let long = vec![b'm'; 400_000];
    assert_eq!(
        socket.send_event(&long).unwrap(),
        SendOutcome::Truncated {
            original_len: 400_000,
            kept_len: 300_000 - HEADER.len(),
            limit,
        }
    );

    let received = analysisd.wait_for_blocking(2, NEVER);
    assert_eq!(received[0], datagram(&whole));
    assert_eq!(received[1].len(), 300_000);
    assert_eq!(received[1], datagram(&long[..300_000 - HEADER.len()]));
}

#[test]
fn the_largest_limit_is_kept_or_lowered_to_what_the_kernel_grants_and_then_used_in_full() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    // The testkit receiver reads at most 1 MiB; this datagram is up to 4.
    let analysisd = UnixDatagram::bind(&path).unwrap();
    analysisd.set_read_timeout(Some(NEVER)).unwrap();

    let requested = DatagramLimit::new(DatagramLimit::MAX).unwrap();
    let options = SocketOptions {
        limit: requested,
        ..SocketOptions::default()
    };
    let mut socket = AnalysisdSocket::connect_with(&path, options).unwrap();

    // Which of the two happens depends on net.core.wmem_max; both are checked
    // against what the kernel says it allows.
    let send_buffer = expected_send_buffer(requested);
    let effective = if send_buffer - 32 >= requested.get() {
        assert_eq!(socket.limit_lowered(), None);
        requested
    } else {
        let effective = DatagramLimit::new(send_buffer - 32).unwrap();
        assert_eq!(
            socket.limit_lowered(),
            Some(LimitLowered {
                requested,
                effective,
                send_buffer,
            })
        );
        effective
    };
    assert_eq!(socket.limit(), effective);

    let message = vec![b'q'; DatagramLimit::MAX + 1];
    assert_eq!(
        socket.send_event(&message).unwrap(),
        SendOutcome::Truncated {
            original_len: message.len(),
            kept_len: effective.max_message_len(),
            limit: effective,
        }
    );
    let mut buffer = vec![0; DatagramLimit::MAX + 1];
    let len = analysisd.recv(&mut buffer).unwrap();
    assert_eq!(len, effective.get());
    assert_eq!(&buffer[..HEADER.len()], HEADER);
}

#[test]
fn a_socket_that_appears_after_the_start_is_waited_for() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    let binder = thread::spawn({
        let path = path.clone();
        move || {
            thread::sleep(AWAY);
            AnalysisdReceiver::bind(path)
        }
    });
    let mut socket = AnalysisdSocket::connect_with(&path, options(NEVER, NEVER)).unwrap();
    let analysisd = binder.join().unwrap();
    assert_eq!(
        socket.send_event(b"first event").unwrap(),
        SendOutcome::Delivered
    );
    assert_eq!(
        analysisd.wait_for_blocking(1, NEVER),
        [datagram(b"first event")]
    );
}

#[test]
fn a_socket_that_never_appears_is_reported_after_the_bound() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    for bound in [SHORT, Duration::ZERO] {
        match AnalysisdSocket::connect_with(&path, options(bound, NEVER)) {
            Err(error @ AnalysisdError::SocketMissing { .. }) => {
                let AnalysisdError::SocketMissing {
                    path: reported,
                    waited,
                } = &error
                else {
                    unreachable!()
                };
                assert_eq!(reported, &path);
                assert!(*waited >= bound, "gave up after {waited:?} of {bound:?}");
                assert!(error.means_wazuh_is_down());
                assert_eq!(error.reference_exit_code(), 11);
                let message = error.to_string();
                assert!(message.starts_with("Wazuh must be running"), "{message}");
                assert!(message.contains(&path.display().to_string()), "{message}");
            }
            other => panic!("expected SocketMissing after {bound:?}, got {other:?}"),
        }
    }
}

#[test]
fn a_socket_file_nobody_is_bound_to_is_reported_after_the_bound() {
    let home = WazuhHome::new();
    let mut analysisd = home.bind_analysisd();
    analysisd.crash();
    match AnalysisdSocket::connect_with(home.queue_socket_path(), options(SHORT, NEVER)) {
        Err(error @ AnalysisdError::NotRunning { .. }) => {
            assert!(error.means_wazuh_is_down());
            assert_eq!(error.reference_exit_code(), 11);
            assert!(error.to_string().starts_with("Wazuh must be running"));
        }
        other => panic!("expected NotRunning, got {other:?}"),
    }
}

#[test]
fn something_other_than_a_socket_at_the_path_is_named_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let directory = dir.path().join("directory");
    std::fs::create_dir(&directory).unwrap();

    for (path, expected) in [
        (file, FileKind::RegularFile),
        (directory, FileKind::Directory),
    ] {
        // A wrong path does not fix itself: failing only after the whole
        // (here, minute-long) bound would look like a hang.
        let started = Instant::now();
        match AnalysisdSocket::connect_with(&path, options(Duration::from_secs(60), NEVER)) {
            Err(error @ AnalysisdError::NotASocket { found, .. }) => {
                assert_eq!(found, expected);
                assert!(!error.means_wazuh_is_down());
                assert_eq!(error.reference_exit_code(), 13);
                let message = error.to_string();
                assert!(message.contains(&path.display().to_string()), "{message}");
                assert!(message.contains(&expected.to_string()), "{message}");
            }
            other => panic!("expected NotASocket for {expected}, got {other:?}"),
        }
        assert!(started.elapsed() < NEVER, "waited for {expected} to change");
    }
}

#[test]
fn a_dangling_link_is_named_once_the_bound_has_passed() {
    let dir = tempfile::tempdir().unwrap();
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    match AnalysisdSocket::connect_with(&dangling, options(SHORT, NEVER)) {
        Err(error @ AnalysisdError::NotASocket { .. }) => {
            assert!(error.to_string().contains("a dangling symbolic link"));
        }
        other => panic!("expected NotASocket, got {other:?}"),
    }
}

#[test]
fn a_link_that_starts_dangling_is_followed_once_its_target_is_bound() {
    let home = WazuhHome::new();
    let target = home.queue_socket_path();
    let link = target.with_file_name("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let binder = thread::spawn(move || {
        thread::sleep(AWAY);
        AnalysisdReceiver::bind(target)
    });
    let mut socket = AnalysisdSocket::connect_with(&link, options(NEVER, NEVER)).unwrap();
    let analysisd = binder.join().unwrap();
    let _ = socket.send_event(b"via link").unwrap();
    assert_eq!(
        analysisd.wait_for_blocking(1, NEVER),
        [datagram(b"via link")]
    );
}

#[test]
fn a_restarted_analysisd_gets_the_next_event() {
    let home = WazuhHome::new();
    let mut analysisd = home.bind_analysisd();
    let mut socket = connect(&home.queue_socket_path(), NEVER);
    let _ = socket.send_event(b"before restart").unwrap();
    analysisd.wait_for_blocking(1, NEVER);

    analysisd.restart();
    assert_eq!(
        socket.send_event(b"after restart").unwrap(),
        SendOutcome::Delivered
    );
    // And the new connection stays up.
    let _ = socket.send_event(b"and again").unwrap();
    assert_eq!(
        analysisd.wait_for_blocking(3, NEVER),
        [
            datagram(b"before restart"),
            datagram(b"after restart"),
            datagram(b"and again")
        ]
    );
}

/// analysisd goes away for a while (its socket file left behind, or removed
/// too) while events keep coming: the sends wait, reconnect, and lose nothing.
fn events_sent_while_analysisd_is_away_arrive(remove_the_file: bool) {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    let mut analysisd = home.bind_analysisd();
    let mut socket = connect(&path, NEVER);
    let events: Vec<Vec<u8>> = (0..10).map(|i| format!("event {i}").into_bytes()).collect();
    for event in &events[..5] {
        let _ = socket
            .send_event(event)
            .expect("sending while analysisd is up");
    }
    // Read before the crash: a crash loses what is still queued, for us as
    // for the reference.
    analysisd.wait_for_blocking(5, NEVER);

    analysisd.crash();
    if remove_the_file {
        std::fs::remove_file(&path).expect("removing the socket file");
    }
    let restarter = thread::spawn(move || {
        thread::sleep(AWAY);
        analysisd.restart();
        analysisd
    });
    for event in &events[5..] {
        assert_eq!(
            socket
                .send_event(event)
                .expect("sending while analysisd is away"),
            SendOutcome::Delivered
        );
    }
    let analysisd = restarter.join().expect("the restarting thread");

    let expected: Vec<_> = events.iter().map(|event| datagram(event)).collect();
    assert_eq!(analysisd.wait_for_blocking(10, NEVER), expected);
}

#[test]
fn events_sent_while_analysisd_is_down_arrive_once_it_is_back() {
    events_sent_while_analysisd_is_away_arrive(false);
}

#[test]
fn events_sent_while_the_socket_file_is_gone_arrive_once_it_is_back() {
    events_sent_while_analysisd_is_away_arrive(true);
}

#[test]
fn an_analysisd_that_stays_down_is_reported_after_the_stall_timeout() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    let mut analysisd = home.bind_analysisd();
    let mut socket = connect(&path, SHORT);
    analysisd.crash();
    match socket.send_event(b"undelivered") {
        Err(error @ AnalysisdError::NotRunning { .. }) => {
            let AnalysisdError::NotRunning {
                path: reported,
                waited,
            } = &error
            else {
                unreachable!()
            };
            assert_eq!(reported, &path);
            assert!(*waited >= SHORT, "gave up after {waited:?}");
            assert_eq!(error.reference_exit_code(), 11);
        }
        other => panic!("expected NotRunning, got {other:?}"),
    }

    // The file gone too: the error says so.
    std::fs::remove_file(&path).unwrap();
    match socket.send_event(b"undelivered") {
        Err(error @ AnalysisdError::SocketMissing { .. }) => {
            assert_eq!(error.reference_exit_code(), 11);
        }
        other => panic!("expected SocketMissing, got {other:?}"),
    }

    // Once it is back, the same socket works again; nothing undelivered
    // arrived meanwhile.
    analysisd.restart();
    let _ = socket.send_event(b"back").unwrap();
    assert_eq!(analysisd.wait_for_blocking(1, NEVER), [datagram(b"back")]);
}

/// Sends until the stuck receiver's queue refuses one; returns how many went
/// through and the error.
fn fill_until_refused(socket: &mut AnalysisdSocket) -> (usize, AnalysisdError) {
    for sent in 0..100_000 {
        if let Err(error) = socket.send_event(format!("queued {sent}").as_bytes()) {
            return (sent, error);
        }
    }
    panic!("100,000 datagrams and the queue never filled up");
}

#[test]
fn a_queue_that_stays_full_is_stalled_after_the_stall_timeout() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    let analysisd = AnalysisdReceiver::bind_paused(&path);
    let mut socket = connect(&path, SHORT);
    let (sent, error) = fill_until_refused(&mut socket);
    assert!(sent > 0);
    match &error {
        AnalysisdError::Stalled {
            path: reported,
            waited,
        } => {
            assert_eq!(reported, &path);
            assert!(*waited >= SHORT, "gave up after {waited:?}");
        }
        other => panic!("expected Stalled, got {other:?}"),
    }
    assert_eq!(error.reference_exit_code(), 11);
    assert!(!error.means_wazuh_is_down());

    // Everything reported sent is in the queue; the refused one is not.
    analysisd.resume();
    let expected: Vec<_> = (0..sent)
        .map(|i| datagram(format!("queued {i}").as_bytes()))
        .collect();
    assert_eq!(analysisd.wait_for_blocking(sent, NEVER), expected);
    let _ = socket.send_event(b"after drain").unwrap();
    assert_eq!(
        analysisd.wait_for_blocking(sent + 1, NEVER)[sent],
        datagram(b"after drain")
    );
}

#[test]
fn a_full_queue_with_no_stall_timeout_refuses_at_once() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    let _analysisd = AnalysisdReceiver::bind_paused(&path);
    let mut socket = connect(&path, Duration::ZERO);
    let (sent, error) = fill_until_refused(&mut socket);
    assert!(sent > 0);
    assert!(matches!(error, AnalysisdError::Stalled { .. }), "{error:?}");
}

#[test]
fn a_queue_that_starts_draining_later_gets_every_event() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    let analysisd = AnalysisdReceiver::bind_paused(&path);
    let mut socket = connect(&path, NEVER);
    // Far more than the queue holds (10 by default), so sends must wait.
    let events: Vec<Vec<u8>> = (0..200)
        .map(|i| format!("event {i}").into_bytes())
        .collect();
    thread::scope(|scope| {
        scope.spawn(|| {
            thread::sleep(AWAY);
            analysisd.resume();
        });
        for event in &events {
            assert_eq!(socket.send_event(event).unwrap(), SendOutcome::Delivered);
        }
    });
    let expected: Vec<_> = events.iter().map(|event| datagram(event)).collect();
    assert_eq!(analysisd.wait_for_blocking(events.len(), NEVER), expected);
}

fn numbered(prefix: &str, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| format!("{prefix} {i}").into_bytes())
        .collect()
}

fn slices(messages: &[Vec<u8>]) -> Vec<&[u8]> {
    messages.iter().map(Vec::as_slice).collect()
}

#[test]
fn a_batch_arrives_in_order_byte_for_byte_with_an_outcome_each() {
    let home = WazuhHome::new();
    let analysisd = home.bind_analysisd();
    let mut socket = AnalysisdSocket::connect(home.queue_socket_path()).unwrap();
    let long = vec![b'L'; 100_000];
    let batch: [&[u8]; 4] = [b"first", b"", &long, "last, café".as_bytes()];

    let outcomes = socket.send_batch(&batch).unwrap();
    assert_eq!(
        outcomes,
        [
            SendOutcome::Delivered,
            SendOutcome::Delivered,
            SendOutcome::Truncated {
                original_len: 100_000,
                kept_len: 65_535 - HEADER.len(),
                limit: DatagramLimit::DEFAULT,
            },
            SendOutcome::Delivered,
        ]
    );
    assert_eq!(
        analysisd.wait_for_blocking(4, NEVER),
        [
            datagram(b"first"),
            datagram(b""),
            datagram(&long[..65_535 - HEADER.len()]),
            datagram("last, café".as_bytes()),
        ]
    );
}

#[test]
fn a_batch_larger_than_one_call_and_the_queue_arrives_once_the_reader_drains() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    let analysisd = AnalysisdReceiver::bind_paused(&path);
    let mut socket = connect(&path, NEVER);
    // More than sendmmsg takes in one call (1,024), and far more than the
    // queue holds, so the batch goes out in many partial sends.
    let events = numbered("event", 3_000);
    thread::scope(|scope| {
        scope.spawn(|| {
            thread::sleep(AWAY);
            analysisd.resume();
        });
        let outcomes = socket.send_batch(&slices(&events)).unwrap();
        assert_eq!(outcomes, vec![SendOutcome::Delivered; events.len()]);
    });
    let expected: Vec<_> = events.iter().map(|event| datagram(event)).collect();
    assert_eq!(analysisd.wait_for_blocking(events.len(), NEVER), expected);
}

#[test]
fn a_batch_to_a_stuck_analysisd_says_which_events_were_delivered() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    let analysisd = AnalysisdReceiver::bind_paused(&path);
    let mut socket = connect(&path, SHORT);
    let events = numbered("event", 100);

    let error = socket.send_batch(&slices(&events)).unwrap_err();
    let delivered = error.delivered.len();
    assert!(
        0 < delivered && delivered < events.len(),
        "{delivered} delivered"
    );
    assert_eq!(error.delivered, vec![SendOutcome::Delivered; delivered]);
    assert!(
        matches!(error.error, AnalysisdError::Stalled { .. }),
        "{:?}",
        error.error
    );
    assert!(
        error
            .to_string()
            .contains(&format!("first {delivered} events"))
    );

    // Exactly the ones reported delivered are in the queue; the rest go with
    // the next batch.
    analysisd.resume();
    let expected: Vec<_> = events.iter().map(|event| datagram(event)).collect();
    assert_eq!(
        analysisd.wait_for_blocking(delivered, NEVER),
        expected[..delivered]
    );
    let rest = socket.send_batch(&slices(&events[delivered..])).unwrap();
    assert_eq!(rest.len(), events.len() - delivered);
    assert_eq!(analysisd.wait_for_blocking(events.len(), NEVER), expected);
}

#[test]
fn a_batch_sent_while_analysisd_restarts_loses_nothing() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    let mut analysisd = home.bind_analysisd();
    let mut socket = connect(&path, NEVER);
    let before = numbered("before", 5);
    let after = numbered("after", 50);
    let _ = socket.send_batch(&slices(&before)).unwrap();
    analysisd.wait_for_blocking(before.len(), NEVER);

    analysisd.crash();
    let restarter = thread::spawn(move || {
        thread::sleep(AWAY);
        analysisd.restart();
        analysisd
    });
    let outcomes = socket.send_batch(&slices(&after)).unwrap();
    assert_eq!(outcomes.len(), after.len());
    let analysisd = restarter.join().unwrap();

    let expected: Vec<_> = before
        .iter()
        .chain(&after)
        .map(|event| datagram(event))
        .collect();
    assert_eq!(analysisd.wait_for_blocking(expected.len(), NEVER), expected);
}

#[test]
fn an_empty_batch_touches_nothing() {
    let home = WazuhHome::new();
    let mut analysisd = home.bind_analysisd();
    let mut socket = connect(&home.queue_socket_path(), NEVER);
    analysisd.crash();
    // With analysisd down, any send would wait the whole bound.
    assert_eq!(socket.send_batch(&[]).unwrap(), []);
}

// ---------------------------------------------------------------------------
// A stop request ends the waits (Interrupt).

/// Connects with bounds no test reaches, watching `interrupt`.
fn connect_interruptible(path: &Path, interrupt: &Interrupt) -> AnalysisdSocket {
    AnalysisdSocket::connect_interruptible(path, options(NEVER, NEVER), interrupt.clone())
        .expect("connecting to the stand-in analysisd")
}

/// Raises `interrupt` after [`AWAY`], from another thread, as a signal
/// handler's task would.
fn raise_later(interrupt: &Interrupt) -> thread::JoinHandle<()> {
    let interrupt = interrupt.clone();
    thread::spawn(move || {
        thread::sleep(AWAY);
        interrupt.raise();
    })
}

fn expect_interrupted(error: &AnalysisdError, path: &Path) {
    match error {
        AnalysisdError::Interrupted {
            path: reported,
            waited,
        } => {
            assert_eq!(reported, path);
            assert!(*waited < NEVER, "{waited:?}");
        }
        other => panic!("expected Interrupted, got {other:?}"),
    }
}

#[test]
fn an_interrupt_ends_the_wait_on_a_full_queue_and_what_was_sent_is_queued() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    let analysisd = AnalysisdReceiver::bind_paused(&path);
    let interrupt = Interrupt::new();
    let mut socket = connect_interruptible(&path, &interrupt);
    let raiser = raise_later(&interrupt);
    let (sent, error) = fill_until_refused(&mut socket);
    raiser.join().expect("the raising thread");
    expect_interrupted(&error, &path);
    assert!(sent > 0);

    analysisd.resume();
    let expected: Vec<_> = (0..sent)
        .map(|i| datagram(format!("queued {i}").as_bytes()))
        .collect();
    assert_eq!(analysisd.wait_for_blocking(sent, NEVER), expected);
}

#[test]
fn an_interrupt_ends_the_wait_for_a_socket_that_never_appears() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    let interrupt = Interrupt::new();
    let raiser = raise_later(&interrupt);
    let error = AnalysisdSocket::connect_interruptible(&path, options(NEVER, NEVER), interrupt)
        .expect_err("nobody is there");
    raiser.join().expect("the raising thread");
    expect_interrupted(&error, &path);
}

#[test]
fn an_interrupt_ends_the_wait_for_analysisd_to_come_back() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    let mut analysisd = home.bind_analysisd();
    let interrupt = Interrupt::new();
    let mut socket = connect_interruptible(&path, &interrupt);
    let _ = socket.send_event(b"before").unwrap();
    analysisd.wait_for_blocking(1, NEVER);
    analysisd.crash();

    let raiser = raise_later(&interrupt);
    let error = socket
        .send_event(b"undelivered")
        .expect_err("analysisd is down");
    raiser.join().expect("the raising thread");
    expect_interrupted(&error, &path);

    // The file gone too: the reconnection's wait ends the same way.
    std::fs::remove_file(&path).unwrap();
    let error = socket
        .send_event(b"undelivered")
        .expect_err("analysisd is down");
    expect_interrupted(&error, &path);
}

#[test]
fn a_raised_interrupt_refuses_nothing_that_the_kernel_takes_at_once() {
    let home = WazuhHome::new();
    let path = home.queue_socket_path();
    let analysisd = home.bind_analysisd();
    let interrupt = Interrupt::new();
    interrupt.raise();
    let mut socket = connect_interruptible(&path, &interrupt);
    let events: Vec<Vec<u8>> = (0..5).map(|i| format!("event {i}").into_bytes()).collect();
    for event in &events {
        assert_eq!(socket.send_event(event).unwrap(), SendOutcome::Delivered);
    }
    let expected: Vec<_> = events.iter().map(|event| datagram(event)).collect();
    assert_eq!(analysisd.wait_for_blocking(5, NEVER), expected);
}
