//! A Redis server of a test's own, on a free port, for the shared budgets: no test shares counts
//! with another through the machine's Redis, and a test may stop it (an outage) and start it again.
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
}

impl RedisServer {
    /// A new, empty Redis; None (saying why) where `redis-server` is missing, unless
    /// JAMINAN_REQUIRE_REDIS is set (CI sets it): then a missing server fails the test.
    pub async fn start() -> Option<RedisServer> {
        let installed = Command::new("redis-server").arg("--version").output().is_ok_and(|o| o.status.success());
        if !installed {
            assert!(
                std::env::var_os("JAMINAN_REQUIRE_REDIS").is_none(),
                "JAMINAN_REQUIRE_REDIS is set but no redis-server"
            );
            eprintln!("skipped: no redis-server (apt-get install redis-server) for the shared-budget test");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = RedisServer { child: None, port };
        server.resume().await;
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server: an outage (it holds nothing on disk).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A frozen server is killed all the same (SIGKILL), its port freed.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the server: a Redis that holds connections open and
    /// answers nothing, as behind a network partition.
    pub fn freeze(&self, frozen: bool) {
        let child = self.child.as_ref().expect("running");
        let signal = if frozen { "-STOP" } else { "-CONT" };
        assert!(Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap().success());
    }

    /// Starts the server (again, empty) on its port; returns once it answers PING.
    pub async fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        self.child = Some(child);
        let started = Instant::now();
        while !self.answers().await {
            assert!(started.elapsed() < Duration::from_secs(20), "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn answers(&self) -> bool {
        let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else { return false };
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").await.is_ok()
            && stream.read_exact(&mut reply).await.is_ok()
            && &reply == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
