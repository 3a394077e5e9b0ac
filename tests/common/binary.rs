//! The real `jaminan` binary serving a test's database: for what only a process shows (signals,
//! exit codes, several instances).
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TestApp;

pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    pub async fn start(app: &TestApp, grace_secs: u64) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(env!("CARGO_BIN_EXE_jaminan"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--shutdown-grace-secs", &grace_secs.to_string()])
            .env("DATABASE_URL", app.database_url())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("jaminan serve");
        let server = Server { child, url: format!("http://127.0.0.1:{port}") };
        let started = Instant::now();
        while reqwest::get(format!("{}/healthz", server.url)).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "the server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
    }

    /// The exit code, waiting at most `limit`.
    pub async fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(started.elapsed() < limit, "the server did not exit within {limit:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
