//! What `m2m`/`a2m` signals ask of the media plane (PROTOCOLS.md §2.2): a publisher's OFFER is
//! answered by the server; a viewer's WATCH of a publisher session gets the server's offer,
//! which the viewer answers with ANSWER to that session. ICE signals are accepted and ignored:
//! the server is ICE-lite and learns each client's address from its connectivity checks
//! (mDNS `.local` candidates, which it could not resolve anyway, included).
//!
//! The rules hand these to the node as [`Media`] effects; [`MediaDone`] is what each came to.

use std::future::ready;

use futures_util::FutureExt;

use super::{Listed, Member, Out, Refusal, Reply, SignalRoom};
use crate::{
    engine::Pending,
    ids::RoomId,
    media::{MediaError, MediaPlane},
    payload::Payload,
    signals::{Action, Channel, Peer, Signal, To},
};

/// What every `signals` room of a node is set up with.
#[derive(Debug, Clone, Default)]
pub struct SignalsConfig {
    /// Publisher limits.
    pub limits: super::Limits,
    /// The node's media plane, if it runs one.
    pub media: Option<MediaPlane>,
}

/// Work for the media plane. `req` is the signal as sent, for an error ack.
#[derive(Debug)]
pub enum Media {
    /// Answer a publisher's offer (a first one, or an ICE restart).
    Publish {
        /// The publisher.
        peer: Peer,
        /// Its SDP offer.
        sdp: String,
        /// The OFFER as sent.
        req: Payload,
    },
    /// Offer a viewer a downlink of a publisher.
    Watch {
        /// The viewer.
        viewer: Peer,
        /// The publisher, as listed to participants.
        listed: Listed,
        /// The WATCH as sent.
        req: Payload,
    },
    /// Apply a viewer's answer to its downlink of a publisher.
    Answer {
        /// The viewer.
        viewer: Peer,
        /// The publisher.
        publisher: Peer,
        /// The viewer's SDP answer.
        sdp: String,
        /// The ANSWER as sent.
        req: Payload,
    },
    /// Offer a member who joined an `m2m` room a downlink of each publisher in its JOIN ack
    /// (`joined`, answered once the offers are made).
    Offers {
        /// The member who joined.
        viewer: Peer,
        /// Its JOIN ack, without offers yet.
        joined: Reply,
    },
    /// The session is out of the room: its peer connections close, and its viewers'.
    Leave(Peer),
    /// The room is over.
    Close,
}

/// What a [`Media`] effect came to.
#[derive(Debug)]
pub enum MediaDone {
    /// The server's answer for a publisher.
    Answered {
        /// The publisher.
        peer: Peer,
        /// The SDP answer.
        sdp: String,
    },
    /// The server's offer for a viewer's downlink.
    Offered {
        /// The viewer.
        viewer: Peer,
        /// The publisher it watches.
        listed: Listed,
        /// The SDP offer.
        sdp: String,
    },
    /// A JOIN ack with the offers of the publishers that publish.
    Joined {
        /// The member who joined.
        viewer: Peer,
        /// Its JOIN ack.
        joined: Reply,
    },
    /// It failed; the session is told why.
    Failed {
        /// Who sent the signal.
        peer: Peer,
        /// Which signal.
        action: Action,
        /// Why it failed.
        why: MediaError,
        /// The signal as sent.
        req: Payload,
    },
}

/// The key of room `rid` on the media plane.
fn key(rid: &RoomId) -> String {
    format!("signals/{rid}")
}

/// Starts `effect` of room `rid` on the node's media plane.
pub(super) fn perform(config: &SignalsConfig, rid: &RoomId, effect: Media) -> Pending<SignalRoom> {
    let Some(plane) = &config.media else {
        let failed =
            |peer, action, req| MediaDone::Failed { peer, action, why: MediaError::Disabled, req };
        let done = match effect {
            Media::Publish { peer, req, .. } => Some(failed(peer, Action::Offer, req)),
            Media::Watch { viewer, req, .. } => Some(failed(viewer, Action::Watch, req)),
            Media::Answer { viewer, req, .. } => Some(failed(viewer, Action::Answer, req)),
            // Without media the JOIN is still answered, with nothing to watch.
            Media::Offers { viewer, joined } => Some(MediaDone::Joined { viewer, joined }),
            Media::Leave(_) | Media::Close => None,
        };
        return ready(done).boxed_local();
    };
    let room = key(rid);
    match effect {
        Media::Publish { peer, sdp, req } => {
            let answer = plane.publish(&room, &peer.to_string(), sdp);
            async move {
                Some(match answer.await {
                    Ok(sdp) => MediaDone::Answered { peer, sdp },
                    Err(why) => MediaDone::Failed { peer, action: Action::Offer, why, req },
                })
            }
            .boxed_local()
        }
        Media::Watch { viewer, listed, req } => {
            let offer = plane.watch(&room, &viewer.to_string(), &listed.peer.to_string());
            async move {
                Some(match offer.await {
                    Ok(sdp) => MediaDone::Offered { viewer, listed, sdp },
                    Err(why) => MediaDone::Failed { peer: viewer, action: Action::Watch, why, req },
                })
            }
            .boxed_local()
        }
        Media::Answer { viewer, publisher, sdp, req } => {
            let applied = plane.answer(&room, &viewer.to_string(), &publisher.to_string(), sdp);
            async move {
                let why = applied.await.err()?;
                Some(MediaDone::Failed { peer: viewer, action: Action::Answer, why, req })
            }
            .boxed_local()
        }
        Media::Offers { viewer, mut joined } => {
            let publishers: Vec<Peer> = match &joined {
                Reply::Joined { pps, .. } => pps.iter().map(|l| l.peer.clone()).collect(),
                _ => Vec::new(),
            };
            let me = viewer.to_string();
            let offers: Vec<_> = publishers
                .into_iter()
                .filter(|p| *p != viewer)
                .map(|p| {
                    let offer = plane.watch(&room, &me, &p.to_string());
                    async move { offer.await.ok().map(|sdp| (p, sdp)) }
                })
                .collect();
            async move {
                let made = futures_util::future::join_all(offers).await;
                if let Reply::Joined { offers, .. } = &mut joined {
                    offers.extend(made.into_iter().flatten());
                }
                Some(MediaDone::Joined { viewer, joined })
            }
            .boxed_local()
        }
        Media::Leave(peer) => {
            plane.leave(&room, &peer.to_string());
            ready(None).boxed_local()
        }
        Media::Close => {
            plane.close(&room);
            ready(None).boxed_local()
        }
    }
}

impl SignalRoom {
    /// An OFFER, ANSWER, ICE or WATCH in an `m2m`/`a2m` room, from a member.
    pub(super) fn media_signal(&mut self, signal: &Signal) -> Out {
        let Some(room) = &self.room else { return Vec::new() };
        let from = room.member(&signal.from);
        let target = match &signal.to {
            Some(To::Session(peer)) => room.member(peer),
            _ => None,
        };
        let refuse = |refusal| super::refuse(signal, refusal);
        let req = signal.raw.clone();
        let effect = match signal.action {
            Action::Offer if signal.hls => {
                let msg = "hlsForwarding is not supported by this server".to_owned();
                return invalid(signal, true, msg);
            }
            Action::Offer if from.is_some_and(|m| m.publisher_since.is_none()) => {
                return refuse(Refusal::PermissionDenied);
            }
            Action::Offer => {
                let sdp = signal.sdp.clone().unwrap_or_default();
                Media::Publish { peer: signal.from.clone(), sdp, req }
            }
            Action::Watch => match target {
                None => return refuse(Refusal::UserLeft),
                Some(m) if m.publisher_since.is_none() => return refuse(Refusal::NotPublishing),
                Some(m) => Media::Watch { viewer: signal.from.clone(), listed: listed(m), req },
            },
            Action::Answer => match target {
                None => return refuse(Refusal::UserLeft),
                Some(m) => {
                    let sdp = signal.sdp.clone().unwrap_or_default();
                    Media::Answer {
                        viewer: signal.from.clone(),
                        publisher: m.peer.clone(),
                        sdp,
                        req,
                    }
                }
            },
            // Trickled candidates are not needed by an ICE-lite server: accepted, ignored.
            Action::Ice if target.is_some() => return Vec::new(),
            Action::Ice => return refuse(Refusal::RecipientNotMember),
            _ => return Vec::new(),
        };
        self.media.push(effect);
        Vec::new()
    }

    /// In an `m2m` room, a member's JOIN ack waits for the server's offers of the other
    /// publishers: `out`'s ack to `from` becomes a media effect.
    pub(super) fn offer_publishers(&mut self, from: &Peer, mut out: Out) -> Out {
        let is_m2m = self.room.as_ref().is_some_and(|r| r.ch == Channel::M2m);
        let others = |r: &Reply| matches!(r, Reply::Joined { pps, .. } if pps.iter().any(|l| l.peer != *from));
        match out.first() {
            Some((to, reply)) if is_m2m && to == from && others(reply) => {
                let (viewer, joined) = out.remove(0);
                self.media.push(Media::Offers { viewer, joined });
                out
            }
            _ => out,
        }
    }

    /// Applies what a media effect came to.
    pub(super) fn media_done(&mut self, rid: &RoomId, done: MediaDone) -> Out {
        match done {
            MediaDone::Joined { viewer, joined } => vec![(viewer, joined)],
            MediaDone::Answered { peer, sdp } => {
                vec![(peer, Reply::Offered { rid: rid.clone(), sdp })]
            }
            MediaDone::Offered { viewer, listed, sdp } => {
                vec![(viewer, Reply::Watching { rid: rid.clone(), pps: vec![(listed, sdp)] })]
            }
            MediaDone::Failed { peer, action, why, req } => {
                let refusal = match why {
                    MediaError::BadSdp(msg) => {
                        let name = action.signal().to_owned();
                        let invalid = Reply::Invalid {
                            unsupported: false,
                            name,
                            req: req.get().to_owned(),
                            msg: format!("invalid sdp: {msg}"),
                        };
                        return vec![(peer, invalid)];
                    }
                    MediaError::NotPublishing => Refusal::NotPublishing,
                    MediaError::NoOffer => Refusal::NoOffer,
                    MediaError::Disabled => Refusal::NoMediaPlane,
                    MediaError::Failed(e) => {
                        log::warn!("media: {action:?} of {peer} failed: {e}");
                        Refusal::MediaFailed
                    }
                    // Transports without SDP are not the `signals` dialect's.
                    e @ (MediaError::BadParameters(_) | MediaError::NoTransport) => {
                        log::warn!("media: {action:?} of {peer} failed: {e}");
                        Refusal::MediaFailed
                    }
                };
                vec![(peer, Reply::Refused { action, refusal, req })]
            }
        }
    }

    /// Members `peers` are out of media room `room`; when it is empty, it is over.
    pub(super) fn media_left(&mut self, peers: &[Peer], over: bool) {
        self.media.extend(peers.iter().cloned().map(Media::Leave));
        if over {
            self.media.push(Media::Close);
        }
    }

    /// The media effects handed since the last call.
    pub(super) fn take_media(&mut self) -> Vec<Media> {
        std::mem::take(&mut self.media)
    }
}

fn listed(m: &Member) -> Listed {
    Listed { peer: m.peer.clone(), ss: m.ss.clone(), ve: m.ve, ae: m.ae }
}

fn invalid(signal: &Signal, unsupported: bool, msg: String) -> Out {
    let name = signal.action.signal().to_owned();
    let reply = Reply::Invalid { unsupported, name, req: signal.raw.get().to_owned(), msg };
    vec![(signal.from.clone(), reply)]
}
