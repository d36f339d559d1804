//! `Cuttable`: a TCP relay in front of the test's Redis for one node, which the test can cut
//! (every connection dropped, new ones refused) and heal: that node alone loses Redis while
//! the others keep it, a network partition as a node sees one.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
};

use tokio::{
    net::{TcpListener, UnixStream},
    task::AbortHandle,
};

/// A running relay (on a thread of its own). Dropping it stops it.
pub struct Cuttable {
    /// Where nodes connect (`redis://<addr>`).
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Cuttable {
    /// A relay to the Redis listening on Unix socket `socket`.
    pub fn to(socket: PathBuf) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("relay address");
        let cut = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (cut_, links_) = (cut.clone(), links.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the relay");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("a tokio listener");
                let relay = async {
                    while let Ok((mut client, _)) = listener.accept().await {
                        if cut_.load(Ordering::SeqCst) {
                            // Refused: the connection is dropped at once.
                            continue;
                        }
                        let socket = socket.clone();
                        let link = tokio::spawn(async move {
                            let Ok(mut redis) = UnixStream::connect(&socket).await else {
                                return;
                            };
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut redis).await;
                        });
                        links_.lock().expect("links lock").push(link.abort_handle());
                    }
                };
                tokio::select! {
                    () = relay => {}
                    _ = stopped => {}
                }
            });
        });
        Self { addr, cut, links, stop: Some(stop) }
    }

    /// The URL a node joins through this relay.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Drops every relayed connection and refuses new ones until [`Cuttable::heal`].
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().expect("links lock").drain(..) {
            link.abort();
        }
    }

    /// Accepts connections again.
    pub fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Cuttable {
    fn drop(&mut self) {
        self.cut();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
