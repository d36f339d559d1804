//! One client's WebSocket after the handshake: a single task owns the TCP stream, reads and
//! parses the client's frames, and writes whatever the connection's [`Outgoing`] source yields.
//!
//! Why not a framework session: per connection it kept an 8 KiB read buffer, an 8 KiB write
//! buffer, two channels and two tasks for the life of the socket, and every frame crossed two
//! queues. Here an idle socket holds no buffer at all (they are taken when bytes arrive or
//! leave, and given back when empty), frames read together are handed on together, and events
//! queued together leave in one write.
//!
//! Reading is paced by [`Credits`]: a text message needs one, and while all are out the socket
//! stops reading (TCP backpressure slows the client). Writing is bounded by [`WRITE_HIGH`]:
//! past it the socket stops taking items, so a client that does not read fills its own queue
//! and is closed as a slow consumer by its source.

mod frame;

use std::{cell::RefCell, io::Read, time::Duration};

use bytes::{Buf, BytesMut};
use socket2::SockRef;
use switchboard_actors::{CloseReason, Credit, Credits, Event};
use tokio::{io::Interest, net::TcpStream};

use frame::{Assembler, Received};

/// Bytes read at once (into a buffer of the thread's: only a frame cut by the end of a
/// read is copied into the connection's own).
const READ_CHUNK: usize = 16 * 1024;
/// Write buffers up to this size are kept between writes (below it an allocation is
/// cheap to keep and a busy socket does not allocate per write).
const WRITE_KEEP: usize = 1024;
/// Write-buffer size past which no more items are taken from the source.
const WRITE_HIGH: usize = 64 * 1024;
/// How long the client has to answer the server's close frame (and to take what was queued
/// before it) before the connection is dropped.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(3);

/// What the server sends.
#[derive(Debug)]
pub(super) enum Out {
    /// A text frame (as the source built it: no conversion).
    Owned(String),
    /// An event, encoded by the source ([`Outgoing::encode`]) straight into the socket's
    /// write path: no buffer of its own per frame.
    Event(Event),
    /// A ping.
    Ping,
    /// A close frame (status code and reason, or none); nothing is sent after it.
    Close(Option<(u16, &'static str)>),
}

/// Where a connection's outgoing frames come from.
pub(super) trait Outgoing {
    /// The next item, waiting for it; `None` when the source has ended (the socket then
    /// closes without a status).
    async fn next(&mut self) -> Option<Out>;
    /// The next item if one is ready.
    fn try_next(&mut self) -> Option<Out>;
    /// Appends the text of [`Out::Event`] `event` to `into`.
    fn encode(&self, event: &Event, into: &mut String);
    /// Resolves when the source gives up on a client that does not read (its next item will
    /// then be the close).
    async fn overflow(&self) {
        std::future::pending::<()>().await;
    }
}

/// What a connection's incoming messages go to.
pub(super) trait Incoming {
    /// A text message, with its credit; `false` stops reading (the connection then ends when
    /// the outgoing side closes it).
    fn text(&mut self, text: &str, credit: Credit) -> bool;
    /// The client answered a ping.
    fn pong(&mut self) {}
    /// A binary message (its content is not kept); `false` refuses it as unsupported data,
    /// which closes the connection. Dialects that speak only text keep that default.
    fn binary(&mut self) -> bool {
        false
    }
    /// The client broke the framing (or sent binary where only text is spoken); reading
    /// stops, and the outgoing side is expected to close with a fitting status.
    fn refused(&mut self, reason: CloseReason);
}

/// A WebSocket connection. See the module docs.
pub(super) struct Socket {
    io: TcpStream,
    /// The start of a frame that has not all arrived.
    rbuf: Vec<u8>,
    wbuf: BytesMut,
    /// The largest frame accepted.
    max_frame: usize,
    messages: Assembler,
    /// The client broke the framing: what it sends is no longer parsed.
    broken: bool,
}

/// How a connection ended.
pub(super) enum Ended {
    /// The client closed (close frame or end of stream) or the transport failed.
    ByClient,
    /// The server closed it: the close frame is queued, and [`Closing::finish`] sends it and
    /// waits for the client's.
    ByServer(Closing),
}

/// The reading side's state.
enum Reading {
    /// Reading frames.
    Open,
    /// A text message waits for a credit.
    Stalled(String),
    /// Reading stopped; the outgoing side will close.
    Stopped,
}

impl Socket {
    /// A connection on `io` whose first bytes (read with the handshake) are `read`; frames up
    /// to `frame` bytes, messages up to `message`.
    pub(super) fn new(io: TcpStream, read: Vec<u8>, frame: usize, message: usize) -> Self {
        Self {
            io,
            rbuf: read,
            wbuf: BytesMut::new(),
            max_frame: frame,
            messages: Assembler::new(message),
            broken: false,
        }
    }

    /// Runs the connection until it ends.
    pub(super) async fn run(
        mut self,
        out: &mut impl Outgoing,
        into: &mut impl Incoming,
        credits: Credits,
    ) -> Ended {
        let mut reading = Reading::Open;
        // Frames that arrived with the handshake.
        if self.parse(into, &credits, &mut reading).is_err() {
            return Ended::ByClient;
        }
        loop {
            let open = matches!(reading, Reading::Open);
            let room = self.wbuf.len() < WRITE_HIGH;
            let ready = if self.wbuf.is_empty() { Interest::READABLE } else { Interest::WRITABLE };
            let ready = if open { ready | Interest::READABLE } else { ready };
            tokio::select! {
                biased;
                // Past the high mark only an overflow (the source's slow-consumer close)
                // is taken.
                item = async {
                    if !room {
                        out.overflow().await;
                    }
                    out.next().await
                } => {
                    let mut next = item;
                    loop {
                        match next {
                            None => return self.closing(None),
                            Some(Out::Close(status)) => return self.closing(status),
                            Some(item) => self.put(item, out),
                        }
                        if self.wbuf.len() >= WRITE_HIGH {
                            break;
                        }
                        match out.try_next() {
                            Some(item) => next = Some(item),
                            None => break,
                        }
                    }
                    if self.flush().is_err() {
                        return Ended::ByClient;
                    }
                }
                credit = credits.take(), if matches!(reading, Reading::Stalled(_)) => {
                    let Reading::Stalled(text) = std::mem::replace(&mut reading, Reading::Open)
                    else {
                        continue;
                    };
                    if !into.text(&text, credit) {
                        reading = Reading::Stopped;
                    } else if self.parse(into, &credits, &mut reading).is_err() {
                        return Ended::ByClient;
                    }
                }
                ready = self.io.ready(ready), if open || !self.wbuf.is_empty() => {
                    let Ok(ready) = ready else { return Ended::ByClient };
                    if ready.is_writable() && self.flush().is_err() {
                        return Ended::ByClient;
                    }
                    if ready.is_readable()
                        && open
                        && self.read(into, &credits, &mut reading).is_err()
                    {
                        return Ended::ByClient;
                    }
                }
            }
        }
    }

    /// Encodes one item into the write buffer.
    fn put(&mut self, item: Out, out: &impl Outgoing) {
        match item {
            Out::Owned(text) => frame::text(&mut self.wbuf, &text),
            Out::Event(event) => ENCODED.with(|encoded| {
                let mut encoded = encoded.borrow_mut();
                encoded.clear();
                out.encode(&event, &mut encoded);
                // An event its dialect has no words for (a refusal of a notification, which
                // nothing answers) sends nothing.
                if !encoded.is_empty() {
                    frame::text(&mut self.wbuf, &encoded);
                }
                if encoded.capacity() > READ_CHUNK {
                    // A large event's buffer is not kept.
                    *encoded = String::new();
                }
            }),
            Out::Ping => frame::ping(&mut self.wbuf),
            Out::Close(status) => frame::close(&mut self.wbuf, status),
        }
    }

    /// Reads what the socket has and handles the frames in it (`Err` at the end of the
    /// stream, on failure, or when the client closed).
    fn read(
        &mut self,
        into: &mut impl Incoming,
        credits: &Credits,
        reading: &mut Reading,
    ) -> Result<(), ()> {
        if !self.rbuf.is_empty() {
            // The rest of a frame: read after its start.
            let start = self.rbuf.len();
            self.rbuf.resize(start + READ_CHUNK, 0);
            let read = read_into(&self.io, &mut self.rbuf[start..]);
            self.rbuf.truncate(start + *read.as_ref().unwrap_or(&0));
            read?;
            return self.parse(into, credits, reading);
        }
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let n = match read_into(&self.io, &mut scratch[..]) {
                Ok(n) => n,
                Err(()) => return Err(()),
            };
            let used = self.frames(&mut scratch[..n], into, credits, reading)?;
            self.rbuf.extend_from_slice(&scratch[used..n]);
            Ok(())
        })
    }

    /// Handles the frames in the read buffer, as far as credits allow.
    fn parse(
        &mut self,
        into: &mut impl Incoming,
        credits: &Credits,
        reading: &mut Reading,
    ) -> Result<(), ()> {
        let mut buf = std::mem::take(&mut self.rbuf);
        let used = self.frames(&mut buf, into, credits, reading);
        buf.drain(..*used.as_ref().unwrap_or(&0));
        // An idle socket keeps no read buffer.
        self.rbuf = if buf.is_empty() { Vec::new() } else { buf };
        used.map(drop)
    }

    /// Handles every whole frame at the start of `data`, as far as credits allow; how many
    /// bytes that took. `Err` when the connection is over (the client closed, or the
    /// transport failed).
    fn frames(
        &mut self,
        data: &mut [u8],
        into: &mut impl Incoming,
        credits: &Credits,
        reading: &mut Reading,
    ) -> Result<usize, ()> {
        let mut at = 0;
        while matches!(reading, Reading::Open) {
            let rest = &mut data[at..];
            let head = match frame::head(rest, self.max_frame) {
                Ok(Some(head)) if rest.len() >= head.size + head.len => head,
                Ok(_) => break,
                Err(reason) => {
                    self.refuse(reason, into, reading);
                    break;
                }
            };
            at += head.size + head.len;
            match self.messages.take(&head, frame::payload(&head, rest)) {
                Ok(Received::Text(text)) => match credits.try_take() {
                    Some(credit) => {
                        if !into.text(&text, credit) {
                            *reading = Reading::Stopped;
                        }
                    }
                    None => *reading = Reading::Stalled(text.into_owned()),
                },
                Ok(Received::Binary) => {
                    if !into.binary() {
                        self.refuse(CloseReason::UnsupportedData, into, reading);
                    }
                }
                Ok(Received::Ping(payload)) => {
                    frame::pong(&mut self.wbuf, payload);
                    self.flush()?;
                }
                Ok(Received::Pong) => into.pong(),
                Ok(Received::Partial) => {}
                Ok(Received::Close(code)) => {
                    log::debug!("client closed ({code:?})");
                    // Answer with the same status, then hang up.
                    frame::close(&mut self.wbuf, code.map(|c| (c, "")));
                    let _ = self.flush();
                    return Err(());
                }
                Err(reason) => self.refuse(reason, into, reading),
            }
        }
        Ok(at)
    }

    /// The client broke the protocol: stop reading and let the outgoing side close.
    fn refuse(&mut self, reason: CloseReason, into: &mut impl Incoming, reading: &mut Reading) {
        log::debug!("refusing the client's frames: {}", reason.describe());
        into.refused(reason);
        self.broken = true;
        *reading = Reading::Stopped;
    }

    /// Writes as much of the write buffer as the socket takes now.
    fn flush(&mut self) -> Result<(), ()> {
        while !self.wbuf.is_empty() {
            match self.io.try_write(&self.wbuf) {
                Ok(0) => return Err(()),
                Ok(n) => self.wbuf.advance(n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => {
                    log::debug!("connection lost: {e}");
                    return Err(());
                }
            }
        }
        if self.wbuf.capacity() > WRITE_KEEP {
            // An idle socket keeps no large write buffer.
            self.wbuf = BytesMut::new();
        } else {
            self.wbuf.clear();
        }
        Ok(())
    }

    /// Queues the close frame after what is already queued.
    fn closing(mut self, status: Option<(u16, &'static str)>) -> Ended {
        frame::close(&mut self.wbuf, status);
        Ended::ByServer(Closing(self))
    }
}

/// A connection the server is closing. See [`Ended::ByServer`].
pub(super) struct Closing(Socket);

impl Closing {
    /// Sends what is queued, the close frame last, then waits (at most [`CLOSE_HANDSHAKE`])
    /// for the client's close frame or the end of the stream; then drops the connection.
    pub(super) async fn finish(self) {
        let mut socket = self.0;
        let done = async {
            loop {
                let interest = if socket.wbuf.is_empty() {
                    Interest::READABLE
                } else {
                    Interest::READABLE | Interest::WRITABLE
                };
                let Ok(ready) = socket.io.ready(interest).await else { return };
                if ready.is_writable() && socket.flush().is_err() {
                    return;
                }
                if ready.is_readable() {
                    socket.rbuf.reserve(READ_CHUNK);
                    if received(socket.io.try_read_buf(&mut socket.rbuf)).is_err() {
                        return;
                    }
                    // Whatever the client still sends is dropped, up to its close frame
                    // (all of it, unread, if its framing is broken: a client still sending
                    // an oversized frame then gets to read the close frame).
                    let mut at = 0;
                    while !socket.broken {
                        match frame::head(&socket.rbuf[at..], socket.max_frame) {
                            Ok(Some(head)) if frame::is_close(&head) => return,
                            Ok(Some(head)) if socket.rbuf.len() - at >= head.size + head.len => {
                                at += head.size + head.len;
                            }
                            Ok(_) => break,
                            Err(_) => socket.broken = true,
                        }
                    }
                    let used = if socket.broken { socket.rbuf.len() } else { at };
                    socket.rbuf.drain(..used);
                }
            }
        };
        if tokio::time::timeout(CLOSE_HANDSHAKE, done).await.is_err() {
            log::debug!("no close frame from the client; dropping the connection");
        }
    }
}

thread_local! {
    /// Where this thread's sockets read: only a frame cut by the end of a read is copied out.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
    /// Where this thread's sockets encode events before framing them.
    static ENCODED: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Reads what `io` has into `buf`: `Ok(0)` if nothing was ready, `Err` at the end of the
/// stream or on failure. A read that leaves room in `buf` has drained the socket, so its
/// readiness is cleared then too, as tokio's own `poll_read` does: the next wait sleeps until
/// new bytes arrive instead of returning at once for a second read that finds nothing (a
/// system call and a turn of the loop saved per message at moderate load).
fn read_into(io: &TcpStream, buf: &mut [u8]) -> Result<usize, ()> {
    let room = buf.len();
    let mut got = 0;
    let read = io.try_io(Interest::READABLE, || {
        got = (&*SockRef::from(io)).read(buf)?;
        if 0 < got && got < room {
            // Not a failure: tells tokio the socket is empty now.
            Err(std::io::ErrorKind::WouldBlock.into())
        } else {
            Ok(got)
        }
    });
    match read {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && got > 0 => Ok(got),
        read => received(read),
    }
}

/// What a read returned: bytes (`Ok(0)` if none were ready), or `Err` at the end of the
/// stream or on failure.
fn received(read: std::io::Result<usize>) -> Result<usize, ()> {
    match read {
        Ok(0) => Err(()),
        Ok(n) => Ok(n),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(0),
        Err(e) => {
            log::debug!("connection lost: {e}");
            Err(())
        }
    }
}
