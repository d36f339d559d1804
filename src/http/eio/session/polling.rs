//! The long-polling side of an [`EioSession`]: the handshake, parked GETs and POSTed packets.

use actix::{ActorContext, Context, Handler};
use switchboard_actors::Credit;
use tokio::sync::oneshot;

use super::{
    super::messages::{Handshake, Poll, Polling, Post, Refused},
    EioSession, Ending,
};
use crate::protocol::rooms::eio;

impl Handler<Poll> for EioSession {
    type Result = Result<Polling, Refused>;

    fn handle(&mut self, _msg: Poll, ctx: &mut Context<Self>) -> Self::Result {
        self.came_back();
        if self.closing {
            if self.outbox.is_empty() {
                return Err(Refused::Closed);
            }
            let payload = eio::encode_payload(self.version, &std::mem::take(&mut self.outbox));
            ctx.stop();
            return Ok(Polling::Ready(payload));
        }
        if self.ws.is_some() {
            // Polling is over once upgraded; the WebSocket goes on.
            return Err(Refused::BadRequest);
        }
        if self.poller.is_some() {
            // Engine.IO closes a session that polls twice at once.
            log::debug!("eio {}: overlapping poll, closing", self.sid);
            self.close(Ending::Told, ctx);
            return Err(Refused::BadRequest);
        }
        if !self.outbox.is_empty() {
            let payload = eio::encode_payload(self.version, &std::mem::take(&mut self.outbox));
            return Ok(Polling::Ready(payload));
        }
        log::debug!("eio {}: poll parked", self.sid);
        let (tx, rx) = oneshot::channel();
        self.poller = Some(tx);
        Ok(Polling::Parked(rx))
    }
}

impl Handler<Handshake> for EioSession {
    type Result = String;

    fn handle(&mut self, _msg: Handshake, _ctx: &mut Context<Self>) -> String {
        let mut packets = vec![self.open_packet(true)];
        packets.append(&mut self.outbox);
        eio::encode_payload(self.version, &packets)
    }
}

impl Handler<Post> for EioSession {
    type Result = Result<(), Refused>;

    fn handle(&mut self, msg: Post, ctx: &mut Context<Self>) -> Self::Result {
        self.came_back();
        if self.closing {
            return Err(Refused::Closed);
        }
        let Ok(packets) = eio::decode_payload(self.version, &msg.0) else {
            self.close(Ending::Now, ctx);
            return Err(Refused::BadPayload);
        };
        for packet in packets {
            if self.on_packet(packet, Credit::none(), false, ctx).is_err() {
                return Err(Refused::BadPayload);
            }
        }
        Ok(())
    }
}
