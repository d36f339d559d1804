//! The liveness side of an [`EioSession`]: pings and their deadline (v4), silence (v3), and
//! the deadlines for a client to connect its socket (v4) and to come back after its handshake.

use actix::{AsyncContext, Context};

use super::{EioSession, Ending};
use crate::protocol::rooms::eio::{self, Kind, Version};

impl EioSession {
    /// Arms the session's timers; called once, when it starts.
    pub(super) fn start_timers(&mut self, ctx: &mut Context<Self>) {
        match self.version {
            Version::V3 => {
                // Silence is judged to an eighth of the allowance: cheap even for many sessions.
                let period = (self.timing.ping_interval + self.timing.ping_timeout) / 8;
                ctx.run_interval(period, Self::check_silence);
            }
            Version::V4 => {
                self.schedule_ping(ctx);
                // socket.io's connectTimeout: a client must connect its socket in time.
                ctx.run_later(self.timing.connect_timeout, |this, ctx| {
                    if !this.shared.connected() {
                        log::info!("eio {}: no Socket.IO CONNECT in time, closing", this.sid);
                        this.close(Ending::Told, ctx);
                    }
                });
            }
        }
        if self.pending {
            ctx.run_later(self.timing.handshake_timeout, |this, ctx| {
                if this.pending {
                    log::info!("eio {}: the client never came back after its handshake", this.sid);
                    this.close(Ending::Now, ctx);
                }
            });
        }
    }

    /// v3: closes a session whose client has been silent too long.
    fn check_silence(&mut self, ctx: &mut Context<Self>) {
        if self.last_heard.elapsed() > self.timing.ping_interval + self.timing.ping_timeout {
            log::info!("eio {}: no ping from the client, closing", self.sid);
            self.close(Ending::Now, ctx);
        }
    }

    /// v4: pings the client `ping_interval` from now, and closes the session if its pong has
    /// not come `ping_timeout` after that.
    fn schedule_ping(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(self.timing.ping_interval, |this, ctx| {
            if this.closing {
                return;
            }
            this.awaiting_pong = true;
            this.send(eio::encode(Kind::Ping, ""), ctx);
            let deadline = ctx.run_later(this.timing.ping_timeout, |this, ctx| {
                if this.awaiting_pong {
                    log::info!("eio {}: no pong in time, closing", this.sid);
                    this.close(Ending::Now, ctx);
                }
            });
            this.pong_deadline = Some(deadline);
        });
    }

    /// The client answered the last ping (a pong nobody asked for changes nothing).
    pub(super) fn pong(&mut self, ctx: &mut Context<Self>) {
        if std::mem::replace(&mut self.awaiting_pong, false) {
            if let Some(deadline) = self.pong_deadline.take() {
                ctx.cancel_future(deadline);
            }
            self.schedule_ping(ctx);
        }
    }
}
