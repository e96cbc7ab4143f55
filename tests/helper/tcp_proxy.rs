//! A TCP proxy in the test process, to cut a daemon off from a server the
//! way a network partition does: `freeze` stops every byte in both
//! directions with the connections left open (no FIN, no RST, as when
//! packets are lost), `cut` then closes them (as the server ends a
//! session its keepalives found dead).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Forward,
    Frozen,
    Cut,
}

pub struct TcpProxy {
    /// Where clients connect: `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    flow: watch::Sender<Flow>,
}

impl TcpProxy {
    /// Forwards every connection made to it to `upstream`.
    pub async fn to(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let (flow, _) = watch::channel(Flow::Forward);
        let flows = flow.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *flows.borrow() == Flow::Cut {
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, flows.subscribe()));
                tokio::spawn(pump(server_read, client_write, flows.subscribe()));
            }
        });
        TcpProxy { addr, flow }
    }

    /// Stops forwarding; the connections stay open.
    pub fn freeze(&self) {
        self.flow.send_replace(Flow::Frozen);
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.flow.send_replace(Flow::Cut);
    }
}

/// Copies `from` to `to` while the flow allows, holding what it read
/// while frozen; returns (closing both halves) once cut.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut flow: watch::Receiver<Flow>,
) {
    let mut buffer = vec![0; 16 << 10];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            _ = flow.wait_for(|f| *f == Flow::Cut) => return,
        };
        let n = match read {
            Ok(n) if n > 0 => n,
            // A side that closes while frozen is not heard by the other
            // until the cut: a partition passes no FIN either.
            _ => {
                let _ = flow.wait_for(|f| *f != Flow::Frozen).await;
                return;
            }
        };
        match flow.wait_for(|f| *f != Flow::Frozen).await.map(|f| *f) {
            Ok(Flow::Forward) => {}
            _ => return,
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
