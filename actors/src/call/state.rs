//! The state machine of one 1:1 call: NEW → PENDING → ACTIVE → CLOSED.
//!
//! Pure logic, no actors: [`CallState::apply`] says whether a signal is allowed now and which
//! phase to announce if it is delivered. The rules, and where they tighten the reference server
//! (which checked nothing):
//!
//! | signal    | NEW              | PENDING                      | ACTIVE                  |
//! |-----------|------------------|------------------------------|-------------------------|
//! | offer     | → PENDING        | refused (an offer is out)    | → PENDING (renegotiate) |
//! | answer    | refused          | → ACTIVE, by the non-offerer | refused                 |
//! | candidate | forwarded        | forwarded                    | forwarded               |
//! | reject    | → CLOSED         | → CLOSED                     | refused (use stop)      |
//! | stop      | → CLOSED         | → CLOSED                     | → CLOSED                |
//!
//! A CLOSED call accepts nothing: it no longer exists for its members.

use crate::{command::CommandKind, error::ErrorKind, event::Phase};

/// Which member of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The member who opened the session.
    Caller,
    /// The member who was called.
    Callee,
}

/// What an allowed signal does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The phase to announce to both members once the signal is delivered, if it changes.
    pub announce: Option<Phase>,
}

/// The state of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallState {
    phase: Phase,
    offerer: Option<Side>,
}

impl Default for CallState {
    fn default() -> Self {
        Self::new()
    }
}

impl CallState {
    /// A new call in phase NEW.
    pub fn new() -> Self {
        Self { phase: Phase::New, offerer: None }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Applies signal `kind` sent by `from`, or refuses it and leaves the state unchanged.
    pub fn apply(&mut self, from: Side, kind: CommandKind) -> Result<Step, ErrorKind> {
        use CommandKind as K;
        use Phase as P;
        let next = match (self.phase, kind) {
            (P::Closed, _) => return Err(ErrorKind::CallNotFound),
            (P::New | P::Active, K::Offer) => {
                self.offerer = Some(from);
                Some(P::Pending)
            }
            (P::Pending, K::Answer) if self.offerer != Some(from) => Some(P::Active),
            (_, K::Candidate) => None,
            (P::New | P::Pending, K::Reject) | (_, K::Stop) => Some(P::Closed),
            (_, K::Offer | K::Answer | K::Reject) => return Err(ErrorKind::InvalidCallState),
            (_, K::Register | K::OpenCall | K::Notify) => return Err(ErrorKind::InvalidMessage),
        };
        if let Some(phase) = next {
            self.phase = phase;
        }
        Ok(Step { announce: next })
    }

    /// Ends the call whatever its phase (a member left, or a delivery failed).
    pub fn close(&mut self) {
        self.phase = Phase::Closed;
    }
}

#[cfg(test)]
mod tests {
    use super::{CallState, Side::*, Step};
    use crate::{command::CommandKind as K, error::ErrorKind as E, event::Phase as P};

    fn at(phase: P, offerer: Option<super::Side>) -> CallState {
        CallState { phase, offerer }
    }

    fn ok(announce: Option<P>) -> Result<Step, E> {
        Ok(Step { announce })
    }

    #[test]
    fn the_happy_path_announces_every_phase() {
        let mut s = CallState::new();
        assert_eq!(s.apply(Caller, K::Candidate), ok(None));
        assert_eq!(s.apply(Caller, K::Offer), ok(Some(P::Pending)));
        assert_eq!(s.apply(Callee, K::Candidate), ok(None));
        assert_eq!(s.apply(Callee, K::Answer), ok(Some(P::Active)));
        assert_eq!(s.apply(Caller, K::Candidate), ok(None));
        assert_eq!(s.apply(Callee, K::Stop), ok(Some(P::Closed)));
        assert_eq!(s.phase(), P::Closed);
    }

    #[test]
    fn either_side_may_offer_first_and_the_other_answers() {
        let mut s = CallState::new();
        assert_eq!(s.apply(Callee, K::Offer), ok(Some(P::Pending)));
        assert_eq!(s.apply(Callee, K::Answer), Err(E::InvalidCallState));
        assert_eq!(s.apply(Caller, K::Answer), ok(Some(P::Active)));
    }

    #[test]
    fn an_active_call_can_be_renegotiated() {
        let mut s = at(P::Active, Some(Caller));
        assert_eq!(s.apply(Callee, K::Offer), ok(Some(P::Pending)));
        assert_eq!(s.apply(Caller, K::Answer), ok(Some(P::Active)));
    }

    #[test]
    fn refusals_leave_the_state_unchanged() {
        let cases = [
            (at(P::New, None), Caller, K::Answer, E::InvalidCallState),
            (at(P::Pending, Some(Caller)), Caller, K::Offer, E::InvalidCallState),
            (at(P::Pending, Some(Caller)), Callee, K::Offer, E::InvalidCallState),
            (at(P::Pending, Some(Caller)), Caller, K::Answer, E::InvalidCallState),
            (at(P::Active, Some(Caller)), Callee, K::Answer, E::InvalidCallState),
            (at(P::Active, Some(Caller)), Callee, K::Reject, E::InvalidCallState),
            (at(P::New, None), Caller, K::Notify, E::InvalidMessage),
            (at(P::New, None), Caller, K::Register, E::InvalidMessage),
            (at(P::New, None), Caller, K::OpenCall, E::InvalidMessage),
        ];
        for (state, side, kind, err) in cases {
            let mut s = state.clone();
            assert_eq!(s.apply(side, kind), Err(err), "{state:?} {side:?} {kind:?}");
            assert_eq!(s, state);
        }
    }

    #[test]
    fn reject_closes_before_the_answer_and_stop_closes_always() {
        for phase in [P::New, P::Pending] {
            for side in [Caller, Callee] {
                assert_eq!(at(phase, Some(Caller)).apply(side, K::Reject), ok(Some(P::Closed)));
            }
        }
        for phase in [P::New, P::Pending, P::Active] {
            for side in [Caller, Callee] {
                assert_eq!(at(phase, Some(Caller)).apply(side, K::Stop), ok(Some(P::Closed)));
            }
        }
    }

    #[test]
    fn a_closed_call_accepts_nothing() {
        for kind in [K::Offer, K::Answer, K::Candidate, K::Reject, K::Stop] {
            let mut s = CallState::new();
            s.close();
            assert_eq!(s.apply(Caller, kind), Err(E::CallNotFound));
        }
    }
}
