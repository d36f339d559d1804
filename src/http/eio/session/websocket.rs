//! The WebSocket side of an [`EioSession`]: a WebSocket attaching to upgrade a polling session,
//! its frames, and its end.

use actix::{AsyncContext, Context, Handler};

use super::{
    super::messages::{WsAttach, WsFrame, WsGone},
    EioSession, Ending,
};

impl Handler<WsAttach> for EioSession {
    type Result = bool;

    fn handle(&mut self, msg: WsAttach, _ctx: &mut Context<Self>) -> bool {
        self.came_back();
        // One upgrade per session: not while another WebSocket probes or has taken over.
        if self.closing || self.probe.is_some() || self.ws.is_some() {
            log::debug!("eio {}: a second WebSocket refused", self.sid);
            return false;
        }
        self.probe = Some(msg.tx);
        true
    }
}

impl Handler<WsFrame> for EioSession {
    type Result = ();

    fn handle(&mut self, msg: WsFrame, ctx: &mut Context<Self>) {
        // A packet that is not Engine.IO has closed the session already.
        let _ = self.on_packet(&msg.text, msg.credit, msg.direct, ctx);
        if msg.direct {
            self.shared.handled();
        }
    }
}

impl Handler<WsGone> for EioSession {
    type Result = ();

    fn handle(&mut self, _msg: WsGone, ctx: &mut Context<Self>) {
        if self.ws.is_some() {
            self.close(Ending::Now, ctx);
        } else {
            // A failed upgrade probe: polling goes on.
            self.probe = None;
            if let Some(check) = self.upgrade_check.take() {
                ctx.cancel_future(check);
            }
        }
    }
}
