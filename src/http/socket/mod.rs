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

use std::time::Duration;

use actix_codec::Decoder;
use actix_http::ws::Codec;
use bytes::BytesMut;
use bytestring::ByteString;
use switchboard_actors::{CloseReason, Credit, Credits};
use tokio::{io::Interest, net::TcpStream};

use frame::{Assembler, Received};

/// Bytes read at once.
const READ_CHUNK: usize = 4096;
/// Write-buffer size past which no more items are taken from the source.
const WRITE_HIGH: usize = 64 * 1024;
/// How long the client has to answer the server's close frame (and to take what was queued
/// before it) before the connection is dropped.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(3);

/// What the server sends.
#[derive(Debug)]
pub(super) enum Out {
    /// A text frame.
    Text(ByteString),
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
    fn text(&mut self, text: ByteString, credit: Credit) -> bool;
    /// The client answered a ping.
    fn pong(&mut self) {}
    /// The client broke the framing (or sent binary where only text is spoken); reading
    /// stops, and the outgoing side is expected to close with a fitting status.
    fn refused(&mut self, reason: CloseReason);
}

/// A WebSocket connection. See the module docs.
pub(super) struct Socket {
    io: TcpStream,
    rbuf: BytesMut,
    wbuf: BytesMut,
    codec: Codec,
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
    Stalled(ByteString),
    /// Reading stopped; the outgoing side will close.
    Stopped,
}

impl Socket {
    /// A connection on `io` whose first bytes (read with the handshake) are `read`; frames up
    /// to `frame` bytes, messages up to `message`.
    pub(super) fn new(io: TcpStream, read: BytesMut, frame: usize, message: usize) -> Self {
        Self {
            io,
            rbuf: read,
            wbuf: BytesMut::new(),
            codec: Codec::new().max_size(frame),
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
                            Some(item) => self.put(item),
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
                    if !into.text(text, credit) {
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
                    if ready.is_readable() && open {
                        match self.fill() {
                            Err(()) => return Ended::ByClient,
                            Ok(()) => {
                                if self.parse(into, &credits, &mut reading).is_err() {
                                    return Ended::ByClient;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Encodes one item into the write buffer.
    fn put(&mut self, item: Out) {
        match item {
            Out::Text(text) => frame::text(&mut self.wbuf, &text),
            Out::Ping => frame::ping(&mut self.wbuf),
            Out::Close(status) => frame::close(&mut self.wbuf, status),
        }
    }

    /// Reads what the socket has (`Err` at end of stream or on failure).
    fn fill(&mut self) -> Result<(), ()> {
        self.rbuf.reserve(READ_CHUNK);
        match self.io.try_read_buf(&mut self.rbuf) {
            Ok(0) => Err(()),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => {
                log::debug!("connection lost: {e}");
                Err(())
            }
        }
    }

    /// Handles every whole frame in the read buffer, as far as credits allow. `Err` when the
    /// connection is over (the client closed, or the transport failed).
    fn parse(
        &mut self,
        into: &mut impl Incoming,
        credits: &Credits,
        reading: &mut Reading,
    ) -> Result<(), ()> {
        while matches!(reading, Reading::Open) {
            let frame = match self.codec.decode(&mut self.rbuf) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    log::debug!("framing error: {error}");
                    into.refused(frame::refusal(&error));
                    self.broken = true;
                    *reading = Reading::Stopped;
                    break;
                }
            };
            match self.messages.take(frame) {
                Ok(Received::Text(text)) => match credits.try_take() {
                    Some(credit) => {
                        if !into.text(text, credit) {
                            *reading = Reading::Stopped;
                        }
                    }
                    None => *reading = Reading::Stalled(text),
                },
                Ok(Received::Binary) => {
                    into.refused(CloseReason::UnsupportedData);
                    *reading = Reading::Stopped;
                }
                Ok(Received::Ping(payload)) => {
                    frame::pong(&mut self.wbuf, &payload);
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
                Err(reason) => {
                    into.refused(reason);
                    self.broken = true;
                    *reading = Reading::Stopped;
                }
            }
        }
        if self.rbuf.is_empty() {
            // An idle socket keeps no read buffer.
            self.rbuf = BytesMut::new();
        }
        Ok(())
    }

    /// Writes as much of the write buffer as the socket takes now.
    fn flush(&mut self) -> Result<(), ()> {
        while !self.wbuf.is_empty() {
            match self.io.try_write(&self.wbuf) {
                Ok(0) => return Err(()),
                Ok(n) => {
                    let _ = self.wbuf.split_to(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => {
                    log::debug!("connection lost: {e}");
                    return Err(());
                }
            }
        }
        // An idle socket keeps no write buffer.
        self.wbuf = BytesMut::new();
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
                    if socket.fill().is_err() {
                        return;
                    }
                    if socket.broken {
                        // Unparseable: dropped unread, so a client still sending (an
                        // oversized frame) gets to read the close frame.
                        socket.rbuf.clear();
                        continue;
                    }
                    // Whatever the client still sends is dropped, up to its close frame.
                    loop {
                        match socket.codec.decode(&mut socket.rbuf) {
                            Ok(Some(actix_http::ws::Frame::Close(_))) | Err(_) => return,
                            Ok(Some(_)) => {}
                            Ok(None) => break,
                        }
                    }
                }
            }
        };
        if tokio::time::timeout(CLOSE_HANDSHAKE, done).await.is_err() {
            log::debug!("no close frame from the client; dropping the connection");
        }
    }
}
