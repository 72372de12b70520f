//! What one delivery pushes through the connection: a single event, or a
//! batch sent with as few system calls as the kernel allows.

use std::io;
use std::ops::Range;
use std::os::unix::net::UnixDatagram;

use crate::frame::{DatagramLimit, HEADER, SendOutcome, frame, frame_after};

/// Datagrams waiting for the kernel to take them.
pub(crate) trait Outbox {
    /// Sends what is left: `Ok(true)` once all of it went through, `Ok(false)`
    /// after some did and more is left. A datagram goes whole or not at all.
    fn push(&mut self, socket: &UnixDatagram) -> io::Result<bool>;
    /// Frames what is left anew if it no longer fits `limit` (a reconnection
    /// found a smaller send buffer).
    fn refit(&mut self, limit: DatagramLimit);
    /// The length of the next datagram to send, for an error about it.
    fn next_len(&self) -> usize;
}

/// One event, framed in a buffer that outlives it.
pub(crate) struct OneEvent<'a> {
    message: &'a [u8],
    datagram: &'a mut Vec<u8>,
    outcome: SendOutcome,
}

impl<'a> OneEvent<'a> {
    pub(crate) fn new(message: &'a [u8], limit: DatagramLimit, datagram: &'a mut Vec<u8>) -> Self {
        let outcome = frame(message, limit, datagram);
        Self {
            message,
            datagram,
            outcome,
        }
    }

    pub(crate) fn outcome(&self) -> SendOutcome {
        self.outcome
    }
}

impl Outbox for OneEvent<'_> {
    fn push(&mut self, socket: &UnixDatagram) -> io::Result<bool> {
        let sent = socket.send(self.datagram)?;
        check_whole(sent, self.datagram.len())?;
        Ok(true)
    }

    fn refit(&mut self, limit: DatagramLimit) {
        if self.datagram.len() > limit.get() {
            self.outcome = frame(self.message, limit, self.datagram);
        }
    }

    fn next_len(&self) -> usize {
        self.datagram.len()
    }
}

/// Many events, framed back to back in one buffer.
pub(crate) struct Batch<'a> {
    messages: &'a [&'a [u8]],
    /// How many of `messages` the kernel took, from the start.
    sent: usize,
    /// One per message framed so far, in order.
    outcomes: Vec<SendOutcome>,
    /// The datagrams of the messages from `framed_from` on.
    buffer: Vec<u8>,
    spans: Vec<Range<usize>>,
    framed_from: usize,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(messages: &'a [&'a [u8]], limit: DatagramLimit) -> Self {
        let mut batch = Self {
            messages,
            sent: 0,
            outcomes: Vec::with_capacity(messages.len()),
            // One allocation for the whole batch's datagrams.
            buffer: Vec::with_capacity(
                messages
                    .iter()
                    .map(|message| HEADER.len() + message.len().min(limit.max_message_len()))
                    .sum(),
            ),
            spans: Vec::with_capacity(messages.len()),
            framed_from: 0,
        };
        batch.frame_unsent(limit);
        batch
    }

    /// The outcomes of the events the kernel took so far, in order.
    pub(crate) fn into_delivered(mut self) -> Vec<SendOutcome> {
        self.outcomes.truncate(self.sent);
        self.outcomes
    }

    fn frame_unsent(&mut self, limit: DatagramLimit) {
        self.outcomes.truncate(self.sent);
        self.buffer.clear();
        self.spans.clear();
        self.framed_from = self.sent;
        for message in &self.messages[self.sent..] {
            let start = self.buffer.len();
            self.outcomes
                .push(frame_after(message, limit, &mut self.buffer));
            self.spans.push(start..self.buffer.len());
        }
    }

    fn unsent_spans(&self) -> &[Range<usize>] {
        &self.spans[self.sent - self.framed_from..]
    }
}

impl Outbox for Batch<'_> {
    fn push(&mut self, socket: &UnixDatagram) -> io::Result<bool> {
        if self.sent == self.messages.len() {
            return Ok(true);
        }
        let datagrams: Vec<&[u8]> = self
            .unsent_spans()
            .iter()
            .take(MAX_PER_CALL)
            .map(|span| &self.buffer[span.clone()])
            .collect();
        let sent = send_many(socket, &datagrams)?;
        if sent == 0 {
            // sendmmsg(2) takes at least one or fails; anything else would
            // make the caller loop without progress.
            return Err(io::Error::other("the kernel took none of the datagrams"));
        }
        self.sent += sent;
        Ok(self.sent == self.messages.len())
    }

    fn refit(&mut self, limit: DatagramLimit) {
        if self
            .unsent_spans()
            .iter()
            .any(|span| span.len() > limit.get())
        {
            self.frame_unsent(limit);
        }
    }

    fn next_len(&self) -> usize {
        self.unsent_spans().first().map_or(0, |span| span.len())
    }
}

fn check_whole(sent: usize, len: usize) -> io::Result<()> {
    if sent == len {
        Ok(())
    } else {
        // A kernel surprise worth an error rather than a silently shortened
        // event.
        Err(io::Error::other(format!(
            "sent {sent} of {len} bytes of a datagram"
        )))
    }
}

/// sendmmsg(2) takes at most `UIO_MAXIOV` messages a call.
const MAX_PER_CALL: usize = 1024;

/// Sends `datagrams`, in order, with one system call: how many the kernel
/// took (a prefix), each whole. An error is returned only when it took none;
/// after a partial send the error comes back on the next call.
#[cfg(target_os = "linux")]
fn send_many(socket: &UnixDatagram, datagrams: &[&[u8]]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;

    let mut iovecs: Vec<libc::iovec> = datagrams
        .iter()
        .map(|datagram| libc::iovec {
            // sendmmsg only reads through it; the type is shared with readers.
            iov_base: datagram.as_ptr().cast_mut().cast(),
            iov_len: datagram.len(),
        })
        .collect();
    let mut headers: Vec<libc::mmsghdr> = iovecs
        .iter_mut()
        .map(|iovec| {
            // SAFETY: msghdr is plain old data (pointers and integers, some of
            // them private padding on some targets): all zeros is a valid,
            // empty header, with no address and no control data.
            #[allow(unsafe_code)]
            let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
            header.msg_iov = iovec;
            header.msg_iovlen = 1;
            libc::mmsghdr {
                msg_hdr: header,
                msg_len: 0,
            }
        })
        .collect();
    let count = libc::c_uint::try_from(headers.len()).map_err(io::Error::other)?;
    // SAFETY: the descriptor is open for the borrow of `socket`; `headers`
    // holds `count` initialised entries, each pointing at one live iovec of
    // `iovecs`, which points into one live datagram of `datagrams`; none of
    // them moves or is dropped before the call returns, and the kernel writes
    // only the `msg_len` fields.
    #[allow(unsafe_code)]
    let sent = unsafe { libc::sendmmsg(socket.as_raw_fd(), headers.as_mut_ptr(), count, 0) };
    let sent = usize::try_from(sent).map_err(|_| io::Error::last_os_error())?;
    for (header, datagram) in headers.iter().zip(datagrams).take(sent) {
        let taken = usize::try_from(header.msg_len).map_err(io::Error::other)?;
        check_whole(taken, datagram.len())?;
    }
    Ok(sent)
}

/// Elsewhere, one send(2) a datagram.
#[cfg(not(target_os = "linux"))]
fn send_many(socket: &UnixDatagram, datagrams: &[&[u8]]) -> io::Result<usize> {
    for (index, datagram) in datagrams.iter().enumerate() {
        match socket.send(datagram) {
            Ok(sent) => check_whole(sent, datagram.len())?,
            Err(error) if index == 0 => return Err(error),
            Err(_) => return Ok(index),
        }
    }
    Ok(datagrams.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(bytes: usize) -> DatagramLimit {
        DatagramLimit::new(bytes).unwrap()
    }

    #[test]
    fn a_batch_is_framed_back_to_back() {
        let messages: [&[u8]; 3] = [b"a", b"", b"0123456789"];
        let batch = Batch::new(&messages, limit(20));
        assert_eq!(
            batch.buffer,
            b"1:Wazuh-AWS:a1:Wazuh-AWS:1:Wazuh-AWS:01234567"
        );
        assert_eq!(batch.spans, [0..13, 13..25, 25..45]);
        assert_eq!(
            batch.outcomes[2],
            SendOutcome::Truncated {
                original_len: 10,
                kept_len: 8,
                limit: limit(20)
            }
        );
        assert_eq!(batch.next_len(), 13);
        assert!(batch.into_delivered().is_empty());
    }

    #[test]
    fn a_refit_reframes_only_what_is_unsent_and_too_long() {
        let messages: [&[u8]; 3] = [b"0123456789", b"0123456789", b"01"];
        let mut batch = Batch::new(&messages, limit(30));
        batch.sent = 1;

        // Still fits: nothing changes.
        batch.refit(limit(22));
        assert_eq!(batch.framed_from, 0);

        batch.refit(limit(16));
        assert_eq!(batch.framed_from, 1);
        assert_eq!(batch.buffer, b"1:Wazuh-AWS:01231:Wazuh-AWS:01");
        assert_eq!(batch.unsent_spans(), [0..16, 16..30]);
        assert_eq!(batch.outcomes[0], SendOutcome::Delivered);
        assert_eq!(
            batch.outcomes[1],
            SendOutcome::Truncated {
                original_len: 10,
                kept_len: 4,
                limit: limit(16)
            }
        );
        assert_eq!(batch.into_delivered(), [SendOutcome::Delivered]);
    }

    #[test]
    fn one_event_refits_only_when_too_long() {
        let mut buffer = Vec::new();
        let mut event = OneEvent::new(b"0123456789", limit(30), &mut buffer);
        event.refit(limit(22));
        assert_eq!(event.outcome(), SendOutcome::Delivered);
        event.refit(limit(16));
        assert_eq!(event.next_len(), 16);
        assert!(matches!(
            event.outcome(),
            SendOutcome::Truncated { kept_len: 4, .. }
        ));
    }
}
