//! A TCP proxy between a test server and its PostgreSQL that can fail like the network
//! and the database do in production: [`FaultProxy::cut`] drops every open connection and
//! refuses new ones (accepted and closed at once) until [`FaultProxy::restore`]. It also
//! knows the local ports of its connections to PostgreSQL, so a test can find exactly
//! this server's backends in `pg_stat_activity` (`client_port`) and terminate them with
//! `pg_terminate_backend` without touching other tests sharing the database.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

#[derive(Default)]
struct Shared {
    refusing: AtomicBool,
    next_id: AtomicU64,
    /// Open connections: id → (the proxy's local port towards the upstream, the task
    /// copying bytes, aborted to cut the connection).
    open: Mutex<HashMap<u64, (u16, AbortHandle)>>,
}

/// The running proxy; stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: AbortHandle,
}

impl FaultProxy {
    /// Listens on a loopback port and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if accepting.refusing.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let shared = accepting.clone();
                tokio::spawn(async move { forward(shared, client, upstream).await });
            }
        })
        .abort_handle();
        Self {
            addr,
            shared,
            accept,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The local ports of the proxy's open connections to the upstream: the
    /// `client_port` of this server's backends in PostgreSQL's `pg_stat_activity`.
    pub fn upstream_ports(&self) -> Vec<u16> {
        let open = self.shared.open.lock().unwrap();
        open.values().map(|(port, _)| *port).collect()
    }

    /// Drops every open connection and refuses new ones until [`FaultProxy::restore`].
    pub fn cut(&self) {
        self.shared.refusing.store(true, Ordering::SeqCst);
        let mut open = self.shared.open.lock().unwrap();
        for (_, (_, task)) in open.drain() {
            task.abort();
        }
    }

    /// Accepts and forwards connections again.
    pub fn restore(&self) {
        self.shared.refusing.store(false, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn forward(shared: Arc<Shared>, mut client: TcpStream, upstream: SocketAddr) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let Ok(local) = server.local_addr() else {
        return;
    };
    let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
    let copying = tokio::spawn(async move {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    });
    {
        let mut open = shared.open.lock().unwrap();
        // A cut that happened while connecting wins: this connection never opens.
        if shared.refusing.load(Ordering::SeqCst) {
            copying.abort();
            return;
        }
        open.insert(id, (local.port(), copying.abort_handle()));
    }
    let _ = copying.await;
    shared.open.lock().unwrap().remove(&id);
}
