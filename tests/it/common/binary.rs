//! The real `jaminan` binary serving a test's database: for what only a process shows (signals,
//! exit codes, logs, traces, several instances).
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TestApp;

/// A `jaminan serve` process; killed when dropped if it is still running.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    /// Serves the app's database on a free port, with this grace period, logging warnings only.
    pub async fn start(app: &TestApp, grace_secs: u64) -> Server {
        Server::start_with(app, |serve| {
            serve.args(["--shutdown-grace-secs", &grace_secs.to_string()]).env("RUST_LOG", "warn");
        })
        .await
    }

    /// Serves the app's database on a free port; `configure` adds flags, environment and where
    /// the output goes (stdout and stderr are discarded unless it says otherwise). Returns once
    /// /healthz answers.
    pub async fn start_with(app: &TestApp, configure: impl FnOnce(&mut Command)) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut serve = Command::new(env!("CARGO_BIN_EXE_jaminan"));
        serve
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", app.database_url())
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        configure(&mut serve);
        let server = Server { child: serve.spawn().expect("jaminan serve"), url: format!("http://127.0.0.1:{port}") };
        let started = Instant::now();
        while reqwest::get(format!("{}/healthz", server.url)).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "the server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    /// SIGTERM, as systemd, Docker and Kubernetes stop a server.
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
    }

    /// SIGTERM, then the process must exit 0.
    pub fn stop(mut self) {
        self.terminate();
        assert!(self.child.wait().expect("wait").success(), "the server exits 0 after SIGTERM");
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
