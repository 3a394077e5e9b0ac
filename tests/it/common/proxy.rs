//! A TCP proxy in the test process between the server's pool and PostgreSQL, to simulate an
//! outage without stopping the shared cluster that the other tests use. `cut` does what a stopped
//! PostgreSQL does: every open connection breaks and new ones are refused (nothing listens on the
//! port); `restore` listens on the same port again.
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Proxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    accepting: Mutex<Option<JoinHandle<()>>>,
    /// Bumped by `cut`: every piped connection watching it closes.
    cuts: watch::Sender<u64>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let (cuts, _) = watch::channel(0u64);
        let mut proxy = Proxy { addr: "127.0.0.1:0".parse().unwrap(), target, accepting: Mutex::new(None), cuts };
        proxy.addr = proxy.listen(proxy.addr);
        proxy
    }

    /// Accepts on `addr` (port 0: any) and pipes each connection to the target until a cut.
    fn listen(&self, addr: SocketAddr) -> SocketAddr {
        let socket = TcpSocket::new_v4().expect("socket");
        // The port was ours a moment ago: listen on it again at once.
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.bind(addr).expect("bind the proxy's port");
        let listener = socket.listen(128).expect("listen");
        let bound = listener.local_addr().expect("proxy address");
        let (target, cuts) = (self.target, self.cuts.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut cut = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        *self.accepting.lock().unwrap() = Some(accepting);
        bound
    }

    /// The database goes away: open connections break, new ones are refused.
    pub fn cut(&self) {
        if let Some(accepting) = self.accepting.lock().unwrap().take() {
            accepting.abort();
        }
        self.cuts.send_modify(|n| *n += 1);
    }

    pub fn restore(&self) {
        self.listen(self.addr);
    }
}

/// A proxy in front of the PostgreSQL server of `database_url`, and that URL through it.
pub async fn in_front_of(database_url: &str) -> (Arc<Proxy>, String) {
    let mut url = reqwest::Url::parse(database_url).expect("database URL");
    let host = match url.host_str() {
        Some("localhost") | None => "127.0.0.1".to_owned(),
        Some(host) => host.to_owned(),
    };
    let target = format!("{host}:{}", url.port().unwrap_or(5432)).parse().expect("PostgreSQL address");
    let proxy = Arc::new(Proxy::start(target).await);
    url.set_host(Some(&proxy.addr.ip().to_string())).expect("host");
    url.set_port(Some(proxy.addr.port())).expect("port");
    (proxy, url.to_string())
}
