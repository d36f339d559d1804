//! A session's Socket.IO CONNECT: its socket joins the room engine if its access token allows.

use actix::Context;
use switchboard_actors::SocketId;

use super::EioSession;
use crate::{
    http::{eio::direct::Connected, quota::ClientKind},
    protocol::rooms::{eio::Version, sio},
};

impl EioSession {
    /// Starts the Socket.IO socket of the default namespace and acknowledges it, if its access
    /// token allows: a v4 CONNECT's `{"token": …}` (its `auth`), or the handshake's `?token=`;
    /// otherwise the CONNECT is refused with the token's fault (the client's `connect_error`).
    pub(super) fn connect_socket(&mut self, auth: &str, ctx: &mut Context<Self>) {
        if self.shared.connected() {
            return;
        }
        let offered = serde_json::from_str::<serde_json::Value>(auth).ok();
        let token = offered.as_ref().and_then(|a| a.get("token")).and_then(|t| t.as_str());
        if let (Some(auth), Some(token), Version::V4) = (&self.node.auth, token, self.version) {
            self.grant = auth.verify(Some(token));
        }
        let admitted = match &self.grant {
            Ok(grant) => match self.node.quotas.seat(&grant.tenant, ClientKind::Rooms) {
                Ok(seat) => Ok((grant.clone(), seat)),
                Err(full) => Err(full.to_string()),
            },
            Err(why) => Err(why.to_string()),
        };
        let (grant, mut seat) = match admitted {
            Ok(admitted) => admitted,
            Err(why) => {
                let refusal = match self.version {
                    Version::V3 => serde_json::json!(why).to_string(),
                    Version::V4 => serde_json::json!({ "message": why }).to_string(),
                };
                return self.send_message(sio::encode(sio::Kind::Error, &refusal), ctx);
            }
        };
        let id = match self.version {
            // socket.io 2.x: the socket id of the default namespace is the engine sid.
            Version::V3 => SocketId::new(&self.sid),
            Version::V4 => SocketId::random(),
        };
        let ack = match self.version {
            Version::V3 => sio::encode(sio::Kind::Connect, ""),
            Version::V4 => sio::encode(
                sio::Kind::Connect,
                &serde_json::json!({ "sid": id.as_str() }).to_string(),
            ),
        };
        let socket = self.node.core.connect_room_socket(id, self.link.clone());
        let link = self.link.clone();
        if let Some(sub) = &grant.sub {
            seat.list(&self.node.index, sub, &link);
        }
        let metrics = self.node.metrics.clone();
        self.shared.connect(Connected { socket, link, grant, seat, metrics });
        self.send_message(ack, ctx);
    }
}
