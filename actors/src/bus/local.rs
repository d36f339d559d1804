//! `LocalBus`: the single-node bus. This node's inbox is the only one; it delivers to the
//! recipient registered for it, in publish order.

use actix::{Message, Recipient};

use super::{Bus, BusError, Envelope};
use crate::ids::NodeId;

/// The single-node [`Bus`]: envelopes for this node go to its inbox recipient; any other node
/// is unknown.
pub struct LocalBus<B: Send + 'static> {
    node: NodeId,
    inbox: Recipient<Delivered<B>>,
}

/// An envelope handed to a node's inbox.
///
/// Sender: a [`Bus`] implementation. Handler: the node's inbox actor. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Delivered<B: Send + 'static>(pub Envelope<B>);

impl<B: Send + 'static> LocalBus<B> {
    /// A bus for `node` whose inbox is `inbox`.
    pub fn new(node: NodeId, inbox: Recipient<Delivered<B>>) -> Self {
        Self { node, inbox }
    }
}

impl<B: Send + 'static> Bus<B> for LocalBus<B> {
    fn node(&self) -> &NodeId {
        &self.node
    }

    fn publish(&self, envelope: Envelope<B>) -> Result<(), BusError> {
        if envelope.to != self.node {
            return Err(BusError::UnknownNode(envelope.to));
        }
        self.inbox.do_send(Delivered(envelope));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use actix::{Actor, Context, Handler};
    use tokio::sync::mpsc;

    use super::*;
    use crate::bus::Target;

    struct Inbox(mpsc::UnboundedSender<Envelope<u32>>);

    impl Actor for Inbox {
        type Context = Context<Self>;
    }

    impl Handler<Delivered<u32>> for Inbox {
        type Result = ();
        fn handle(&mut self, msg: Delivered<u32>, _: &mut Context<Self>) {
            let _ = self.0.send(msg.0);
        }
    }

    #[actix_rt::test]
    async fn delivers_to_this_node_in_order_and_refuses_others() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let node = NodeId::new("n1");
        let bus = LocalBus::new(node.clone(), Inbox(tx).start().recipient());
        let env = |to: &str, body| Envelope {
            origin: node.clone(),
            to: NodeId::new(to),
            target: Target::Node,
            body,
        };
        for i in 0..100 {
            bus.publish(env("n1", i)).unwrap();
        }
        assert_eq!(bus.publish(env("n2", 0)), Err(BusError::UnknownNode(NodeId::new("n2"))));
        for i in 0..100 {
            assert_eq!(rx.recv().await.map(|e| e.body), Some(i));
        }
        assert_eq!(bus.node(), &node);
    }
}
