//! Test harness: every test gets a fresh, migrated database (a SQLite file, or a new PostgreSQL
//! database cloned from a migrated template when TEST_DATABASE_URL is set) and drives the real
//! axum app through HTTP requests, the way a client does.

pub mod binary;
pub mod generator;
pub mod outage;
pub mod proxy;
pub mod redis;
pub mod reference;
pub mod ws;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use jaminan::app::App;
use jaminan::auth::{self, Role};
use jaminan::db;
use jaminan::http::{HttpSettings, router as build_app};
use jaminan::services::AppState;
use jaminan::stats::publication::Publications;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use tower::ServiceExt;

/// What a GraphQL over HTTP client asks for: `application/graphql-response+json`, where a request
/// refused before execution is a 400 (without `Accept`, or with `*/*`, it is a 200).
pub const MODERN: Option<&str> = Some("application/graphql-response+json");

/// Runs a test body once per backend: SQLite always, PostgreSQL where TEST_DATABASE_URL is set.
/// Without it (and outside CI) the PostgreSQL variant is ignored, and says so: `cargo test`
/// reports it as ignored, not as passed (build.rs sets `jaminan_postgres_tests`). CI sets it, and
/// a PostgreSQL it cannot reach fails the test.
/// `backend_test!(exclusive name, body)` runs alone among such tests under `cargo test` (see
/// `exclusive`); `backend_test!(demo name, body)` starts from the demo dataset.
#[macro_export]
macro_rules! backend_test {
    (@with $guard:ident, $spawn:ident, $name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let _guard = common::$guard().await;
                let app = common::TestApp::$spawn(common::Backend::Sqlite).await;
                ($body)(app.clone()).await;
                app.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
            async fn postgres() {
                let _guard = common::$guard().await;
                let app = common::TestApp::$spawn(common::Backend::Postgres).await;
                ($body)(app.clone()).await;
                app.cleanup().await;
            }
        }
    };
    (exclusive $name:ident, $body:expr) => {
        $crate::backend_test!(@with exclusive, spawn, $name, $body);
    };
    // On a database holding the demo dataset (see `TestApp::spawn_demo`).
    (demo $name:ident, $body:expr) => {
        $crate::backend_test!(@with shared, spawn_demo, $name, $body);
    };
    ($name:ident, $body:expr) => {
        $crate::backend_test!(@with shared, spawn, $name, $body);
    };
}

/// Tests share the process under `cargo test` (nextest gives each its own): one that reads a
/// figure of the whole process, such as the operations waiting for a pool connection, holds
/// `exclusive()` and runs while no test that holds `shared()` does.
static PROCESS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

pub async fn shared() -> tokio::sync::RwLockReadGuard<'static, ()> {
    PROCESS.read().await
}

pub async fn exclusive() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    PROCESS.write().await
}

/// Proptest's configuration with failing cases kept: their seeds are written to
/// tests/proptest-regressions/<module>.txt (committed) and run first next time. `source_file`:
/// the test's `file!()`.
pub fn regressions_kept(source_file: &'static str) -> proptest::test_runner::Config {
    use proptest::test_runner::{Config, FileFailurePersistence};
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
        source_file: Some(source_file),
        ..Config::default()
    }
}

/// Polls `condition` every 20 ms until it holds; panics with `what` after `limit`. For what a
/// test waits for (a subscription in place, a listener closed) instead of a fixed sleep.
pub async fn eventually<F, Fut>(what: &str, limit: std::time::Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !condition().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Waits until `live` has at least `n` subscribers (subscriptions the server has put in place:
/// changes committed from then on reach them).
pub async fn subscribed(live: &jaminan::live::Live, n: usize) {
    eventually(&format!("{n} subscriptions in place"), std::time::Duration::from_secs(10), || async {
        live.subscribers() >= n
    })
    .await;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct TestApp {
    pub backend: Backend,
    pub router: axum::Router,
    pub state: AppState,
    /// How HTTP is set up (limits, trusted documents, browsers...): change it with `with_http`.
    pub http: HttpSettings,
    /// An ADMIN key, and a second one for four-eyes checks.
    pub admin: String,
    pub admin2: String,
    queries: Arc<AtomicUsize>,
    cleanup_target: Arc<String>,
    /// Sent as `Accept-Language` with every request that has none (see `in_language`).
    accept_language: Option<&'static str>,
}

static PG_TEMPLATE: OnceCell<String> = OnceCell::const_new();
static SQLITE_TEMPLATE: OnceCell<PathBuf> = OnceCell::const_new();
static PG_DEMO: OnceCell<String> = OnceCell::const_new();
static SQLITE_DEMO: OnceCell<PathBuf> = OnceCell::const_new();

/// Opens (and migrates) a test's SQLite file, with a patient acquire timeout: the pool opens its
/// first connection inside the first acquire, and with every test running at once on 2 cores,
/// opening a copied file took longer than the server's 2 s (`PoolTimedOut`, three times in two
/// CI runs). The tests of the acquire timeout give their pools their own.
async fn open_sqlite(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let args =
        jaminan::config::DatabaseArgs { db_acquire_timeout_ms: 30_000, ..jaminan::config::DatabaseArgs::for_url(url) };
    jaminan::app::startup::open_database(&args).await
}

fn sqlite_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("jaminan-tests");
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        match backend {
            Backend::Sqlite => {
                let template = SQLITE_TEMPLATE.get_or_init(|| sqlite_template(sqlite_dir())).await;
                TestApp::spawn_sqlite_from(template).await
            }
            Backend::Postgres => TestApp::spawn_postgres().await,
        }
    }

    /// A database of its own holding the demo dataset (Kabupaten Tangerang, as `serve --demo`
    /// loads it), cloned from a template: loading it takes some 15 s in a debug build, and the
    /// tests that only read it (the pages in Chromium) need not each pay that.
    pub async fn spawn_demo(backend: Backend) -> TestApp {
        match backend {
            Backend::Sqlite => {
                let template = SQLITE_DEMO.get_or_init(|| sqlite_demo_template(sqlite_dir())).await;
                TestApp::spawn_sqlite_from(template).await
            }
            Backend::Postgres => {
                let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
                    panic!("TEST_DATABASE_URL is not set: PostgreSQL tests need a server (CI must set it)");
                };
                let template = PG_DEMO.get_or_init(|| pg_demo_template(base)).await;
                TestApp::spawn_postgres_from(template).await
            }
        }
    }

    async fn spawn_sqlite_from(template: &std::path::Path) -> TestApp {
        let path = sqlite_dir().join(format!("{}.db", uuid::Uuid::new_v4()));
        std::fs::copy(template, &path).expect("copy the SQLite template");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let db = open_sqlite(&url).await.expect("sqlite test database");
        TestApp::with_db(Backend::Sqlite, db, path.display().to_string()).await
    }

    /// A database of its own, cloned from the migrated template. Panics without TEST_DATABASE_URL:
    /// the tests that call it are ignored then (see `backend_test!`), unless CI is set.
    pub async fn spawn_postgres() -> TestApp {
        let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
            panic!("TEST_DATABASE_URL is not set: PostgreSQL tests need a server (CI must set it)");
        };
        let template = PG_TEMPLATE.get_or_init(|| create_template(base.clone())).await;
        TestApp::spawn_postgres_from(template).await
    }

    async fn spawn_postgres_from(template: &str) -> TestApp {
        let base = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
        let name = format!("jaminan_test_{}", uuid::Uuid::new_v4().simple());
        let admin = db::connect(&base, jaminan::config::DEFAULT_STATEMENT_TIMEOUT_SECS)
            .await
            .expect("postgres admin connection");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let db = db::connect(&database_url(&base, &name), jaminan::config::DEFAULT_STATEMENT_TIMEOUT_SECS)
            .await
            .expect("test database");
        TestApp::with_db(Backend::Postgres, db, name).await
    }

    async fn with_db(backend: Backend, mut db: DatabaseConnection, cleanup_target: String) -> TestApp {
        let queries = Arc::new(AtomicUsize::new(0));
        let counter = queries.clone();
        // A request's statements: the key cache's upkeep on this pool (it re-reads the active keys
        // when half a second old and notes their last use once a minute) is not counted, as a slow
        // request under load overlapped it; a lookup of one key by its hash is.
        db.set_metric_callback(move |info| {
            let sql = &info.statement.sql;
            if !sql.contains("api_key") || sql.contains("\"key_hash\" =") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        let (admin, _) = auth::keys::create_key(&db, "test admin", Role::Admin, None).await.expect("admin key");
        let (admin2, _) = auth::keys::create_key(&db, "second admin", Role::Admin, None).await.expect("admin key");
        let mut state = unthrottled(AppState::new(db).await.expect("app state"));
        // Personal-data reads are written when a test flushes them, not by the server's
        // once-a-second task (which ends with the log it was started for): a flush that fell
        // inside a `query_count` window counted its statements against the request measured.
        state.reads = Arc::new(jaminan::services::personal_data::ReadLog::default());
        // Statistics suites check exact small figures and read right after writing: nothing is
        // withheld (k = 1) and nothing is kept. Privacy tests set the defaults back.
        state.publications = Arc::new(Publications::new(1, std::time::Duration::ZERO));
        let http = HttpSettings::default();
        TestApp {
            backend,
            router: build_app(state.clone(), http.clone()),
            state,
            http,
            admin,
            admin2,
            queries,
            cleanup_target: Arc::new(cleanup_target),
            accept_language: None,
        }
    }

    /// The same database served by another app (another instance, or other settings); the
    /// original's cleanup removes the database.
    pub fn with_state(&self, state: AppState) -> TestApp {
        TestApp { router: build_app(state.clone(), self.http.clone()), state, ..self.clone() }
    }

    /// The same app keeping each year's publication for an hour, as a server keeps it for its
    /// refresh time. Tests otherwise compute it for every request, to read right after writing,
    /// which takes seconds in a debug build: this is for tests that only read once their data is in.
    pub fn keeping_publications(&self) -> TestApp {
        let mut state = self.state.clone();
        state.publications = Arc::new(Publications::new(1, std::time::Duration::from_secs(3600)));
        self.with_state(state)
    }

    /// The same app with other HTTP settings.
    pub fn with_http(&self, http: HttpSettings) -> TestApp {
        TestApp { router: build_app(self.state.clone(), http.clone()), http, ..self.clone() }
    }

    /// The app as `jaminan::app::server::run` serves it.
    pub fn app(&self) -> App {
        App { state: self.state.clone(), http: self.http.clone() }
    }

    /// Serves this app on a real listener (for WebSocket clients) until the test ends.
    pub async fn serve(&self) -> std::net::SocketAddr {
        serve(self.app()).await
    }

    /// Drops the test database (PostgreSQL) or deletes the file (SQLite).
    pub async fn cleanup(self) {
        self.state.db.clone().close().await.ok();
        match self.backend {
            Backend::Sqlite => {
                for suffix in ["", "-wal", "-shm"] {
                    std::fs::remove_file(format!("{}{suffix}", self.cleanup_target)).ok();
                }
            }
            Backend::Postgres => {
                if let Ok(base) = std::env::var("TEST_DATABASE_URL")
                    && let Ok(admin) = db::connect(&base, jaminan::config::DEFAULT_STATEMENT_TIMEOUT_SECS).await
                {
                    admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.cleanup_target))
                        .await
                        .ok();
                    admin.close().await.ok();
                }
            }
        }
    }

    /// Number of SQL statements run so far (but the key cache's own, on its timer), once the
    /// change notifications of the mutations before are sent (after their commits, by a task).
    pub async fn query_count(&self) -> usize {
        self.state.live.flush(std::time::Duration::from_secs(5)).await;
        self.queries.load(Ordering::SeqCst)
    }

    /// POST /graphql as an anonymous caller.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_with(None, query, variables).await
    }

    /// POST /graphql with `Authorization: Bearer <key>`.
    pub async fn gql_as(&self, key: &str, query: &str, variables: Value) -> Value {
        self.gql_with(Some(key), query, variables).await
    }

    pub async fn gql_with(&self, key: Option<&str>, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables });
        let (_, value) = self.post_json(key, &body.to_string()).await;
        value
    }

    /// POST /graphql with a raw body; returns the status and the JSON body (Null when not JSON).
    /// Sent without `Accept`: answered `application/json`, where request errors are 200s.
    pub async fn post_json(&self, key: Option<&str>, body: &str) -> (StatusCode, Value) {
        self.post_json_accepting(key, body, None).await
    }

    /// The same with an `Accept` (`MODERN`: refusals before execution are 400s).
    pub async fn post_json_accepting(
        &self,
        key: Option<&str>,
        body: &str,
        accept: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::post("/graphql")
            .header("content-type", "application/json")
            .header("content-length", body.len().to_string());
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        self.send(request.body(Body::from(body.to_owned())).expect("request")).await
    }

    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let (status, bytes) = self.send_raw(request).await;
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// The same app, its requests sending `Accept-Language: <header>`.
    pub fn in_language(&self, header: &'static str) -> TestApp {
        TestApp { accept_language: Some(header), ..self.clone() }
    }

    pub async fn send_raw(&self, mut request: Request<Body>) -> (StatusCode, Vec<u8>) {
        if let Some(language) = self.accept_language
            && !request.headers().contains_key("accept-language")
        {
            request.headers_mut().insert("accept-language", axum::http::HeaderValue::from_static(language));
        }
        let response = self.router.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        // A mutation's notifications go out after its answer (by a task): sent before the test
        // goes on, so that a subscription opened next does not hear of a change made before it.
        self.state.live.flush(std::time::Duration::from_secs(5)).await;
        (status, bytes.to_vec())
    }

    /// GET /metrics on the main router as an admin: the Prometheus text.
    pub async fn scrape_metrics(&self) -> String {
        let request = Request::get("/metrics").header("authorization", format!("Bearer {}", self.admin));
        let (status, bytes) = self.send_raw(request.body(Body::empty()).expect("request")).await;
        assert_eq!(status, StatusCode::OK);
        String::from_utf8(bytes).expect("utf-8")
    }

    /// Registers a worker as admin and returns its id.
    pub async fn register(
        &self,
        nik: &str,
        name: &str,
        regency: &str,
        district: Option<&str>,
        occupation: &str,
    ) -> String {
        let response = self
            .gql_as(
                &self.admin,
                "mutation($input: RegisterWorkerInput!) { registerWorker(input: $input) { id } }",
                json!({ "input": { "nik": nik, "fullName": name, "regencyCode": regency, "districtCode": district, "occupation": occupation } }),
            )
            .await;
        data(&response)["registerWorker"]["id"].as_str().expect("worker id").to_owned()
    }

    /// Enrolls a worker as admin (APBD, default programs) and returns the coverage id.
    pub async fn enroll(&self, worker_id: &str, regency: &str, starts_on: &str, ends_on: Option<&str>) -> String {
        let response = self
            .gql_as(
                &self.admin,
                "mutation($input: EnrollInput!) { enrollWorker(input: $input) { id } }",
                json!({ "input": { "workerId": worker_id, "regencyCode": regency, "fundingSource": "APBD", "startsOn": starts_on, "endsOn": ends_on } }),
            )
            .await;
        data(&response)["enrollWorker"]["id"].as_str().expect("coverage id").to_owned()
    }

    /// The database's URL, for running the `jaminan` binary against it.
    pub fn database_url(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}?mode=rwc", self.cleanup_target),
            Backend::Postgres => {
                database_url(&std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL"), &self.cleanup_target)
            }
        }
    }

    /// `importEnrollments` as a GraphQL multipart request (what `curl -F operations=... -F
    /// map=... -F 0=@file.csv` sends); returns the status and the JSON body.
    pub async fn import_csv(
        &self,
        key: Option<&str>,
        regency: &str,
        file: &[u8],
        options: Value,
    ) -> (StatusCode, Value) {
        let query = "mutation($regency: String!, $file: Upload!, $dryRun: Boolean, $partial: Boolean) { \
            importEnrollments(regencyCode: $regency, file: $file, dryRun: $dryRun, partial: $partial) { \
            rowsRead workersRegistered workersKnown coveragesCreated rowsSkipped rowsInError written fileSha256 \
            errors { line column value code message } } }";
        let mut variables = json!({ "regency": regency, "file": null });
        if let (Some(target), Some(extra)) = (variables.as_object_mut(), options.as_object()) {
            target.extend(extra.clone());
        }
        let operations = json!({ "query": query, "variables": variables });
        let boundary = "------------------------jaminanTestBoundary";
        let mut body = Vec::new();
        let mut part = |headers: &str, content: &[u8]| {
            body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        };
        part("Content-Disposition: form-data; name=\"operations\"", operations.to_string().as_bytes());
        part("Content-Disposition: form-data; name=\"map\"", br#"{"0": ["variables.file"]}"#);
        part("Content-Disposition: form-data; name=\"0\"; filename=\"list.csv\"\r\nContent-Type: text/csv", file);
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut request = Request::post("/graphql")
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .header("content-length", body.len().to_string());
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        self.send(request.body(Body::from(body)).expect("request")).await
    }

    /// The differences between the maintained statistics and a recomputation (none expected).
    pub async fn stats_differences(&self) -> Vec<String> {
        jaminan::stats::rebuild::verify(&self.state.db).await.expect("verify")
    }

    /// `SELECT COUNT(*) AS n ...` on any database.
    pub async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }

    /// Seals the audit entries committed so far, as `serve`'s sealer does (PostgreSQL; SQLite
    /// chains them as they are written). Returns how many it sealed.
    pub async fn seal_audit(&self) -> u64 {
        let wait = std::time::Duration::from_secs(10);
        let sealed = jaminan::services::audit_sealer::seal_committed(&self.state.db, wait).await.expect("sealing");
        sealed.expect("a transaction still running held the sealing back")
    }

    /// Runs a statement directly on the test database (to check that nothing was written).
    pub async fn count_rows(&self, table: &str) -> i64 {
        let row = self
            .state
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.state.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

/// Serves `app` on a real listener on 127.0.0.1 until the test ends.
pub async fn serve(app: App) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let address = listener.local_addr().expect("address");
    let grace = std::time::Duration::from_secs(1);
    tokio::spawn(jaminan::app::server::run(listener, app, std::future::pending(), grace));
    address
}

/// The state with request rate limits out of reach: suites send thousands of requests a minute
/// with one key (the limits have tests of their own).
pub fn unthrottled(mut state: AppState) -> AppState {
    let limits = jaminan::config::RateLimits {
        key_requests_per_minute: 100_000_000,
        anonymous_requests_per_minute: 100_000_000,
        ..jaminan::config::RateLimits::DEFAULT
    };
    state.throttle = Arc::new(jaminan::auth::throttle::Throttle::new(&limits));
    state
}

/// The data of a successful response; panics with the errors otherwise.
pub fn data(response: &Value) -> &Value {
    assert!(response.get("errors").is_none(), "unexpected errors: {response}");
    &response["data"]
}

/// The `extensions.code` of the first error; panics when the response has no error.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("expected an error, got {response}"))
}

/// The `extensions.field` of the first error.
pub fn error_field(response: &Value) -> &str {
    response["errors"][0]["extensions"]["field"].as_str().unwrap_or_else(|| panic!("expected a field, got {response}"))
}

pub fn database_url(base: &str, name: &str) -> String {
    let (server, query) = match base.split_once('?') {
        Some((server, query)) => (server, format!("?{query}")),
        None => (base, String::new()),
    };
    let server = match server.rfind('/') {
        Some(i) if i > "postgres://".len() => &server[..i],
        _ => server,
    };
    format!("{server}/{name}{query}")
}

/// The key of the templates: a digest of the names of the migrations they hold.
fn migrations_digest() -> u64 {
    use migration::MigratorTrait;
    let names: Vec<String> = migration::Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    names.join(",").bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

/// A migrated SQLite file named after the migrations it holds, made once and kept in `dir`: each
/// test copies it, much faster than migrating (some 8,000 area rows). Test processes may race to
/// make it (nextest runs each test in a process of its own): each builds under a name of its own
/// and renames it into place, so that no process ever copies a half-made template.
async fn sqlite_template(dir: PathBuf) -> PathBuf {
    let path = dir.join(format!("template_{:016x}.db", migrations_digest()));
    if path.exists() {
        return path;
    }
    let unique = uuid::Uuid::new_v4().simple();
    let (scratch, building) = (dir.join(format!("{unique}.migrating.db")), dir.join(format!("{unique}.template.db")));
    let db =
        open_sqlite(&format!("sqlite://{}?mode=rwc", scratch.display())).await.expect("migrate the SQLite template");
    // One self-contained file (nothing left in a write-ahead log), written at once.
    db.execute_unprepared(&format!("VACUUM INTO '{}'", building.display())).await.expect("write the SQLite template");
    db.close().await.ok();
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", scratch.display())).ok();
    }
    std::fs::rename(&building, &path).expect("put the SQLite template in place");
    path
}

/// A migrated template named after the migrations it holds, created once (under an advisory lock,
/// as test processes may run at once) and kept: each test clones it, much faster than migrating.
async fn create_template(base: String) -> String {
    let name = format!("jaminan_template_{:016x}", migrations_digest());
    let mut options = sea_orm::ConnectOptions::new(base.clone());
    options.max_connections(1).sqlx_logging(false);
    let admin = sea_orm::Database::connect(options).await.expect("postgres admin connection");
    admin.execute_unprepared("SELECT pg_advisory_lock(727274)").await.expect("lock");
    let exists = admin
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!("SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"),
        ))
        .await
        .expect("look up template")
        .is_some();
    if !exists {
        let building = format!("{name}_building");
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {building}")).await.expect("drop partial template");
        admin.execute_unprepared(&format!("CREATE DATABASE {building}")).await.expect("create template");
        let template =
            jaminan::app::startup::open_url(&database_url(&base, &building)).await.expect("migrate template");
        template.close().await.ok();
        admin
            .execute_unprepared(&format!("ALTER DATABASE {building} RENAME TO {name}"))
            .await
            .expect("rename template");
    }
    admin.execute_unprepared("SELECT pg_advisory_unlock(727274)").await.ok();
    admin.close().await.ok();
    name
}

/// The build of the tests that runs: its time (seconds) and size. The demo templates are named
/// after it, as the dataset is what this build's loader and summaries make of it; a template of a
/// build an hour older than this one is removed (a younger one may be another checkout's, in use).
fn this_build() -> (u64, u64) {
    let exe = std::env::current_exe().expect("test binary");
    let meta = std::fs::metadata(exe).expect("test binary");
    let time = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).unwrap_or_default();
    (time.as_secs(), meta.len())
}

/// Whether a demo template named `demo_<time>_<size>` is of a build an hour older than this one.
fn outdated_demo(name: &str, now: u64) -> bool {
    let built = name.strip_prefix("demo_").and_then(|rest| rest.split('_').next()).and_then(|t| t.parse::<u64>().ok());
    built.is_some_and(|built| built + 3600 < now)
}

/// The migrated SQLite template with the demo dataset loaded, made like `sqlite_template`.
async fn sqlite_demo_template(dir: PathBuf) -> PathBuf {
    let (time, size) = this_build();
    let path = dir.join(format!("demo_{time}_{size:x}.db"));
    // One process loads it while the others wait (as under PostgreSQL's advisory lock): loading
    // is the cost this saves.
    let lock = std::fs::File::create(dir.join("demo.lock")).expect("demo lock file");
    lock.lock().expect("demo lock");
    if path.exists() {
        return path;
    }
    for entry in std::fs::read_dir(&dir).expect("temp dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if outdated_demo(&name, time) {
            std::fs::remove_file(entry.path()).ok();
        }
    }
    let migrated = SQLITE_TEMPLATE.get_or_init(|| sqlite_template(dir.clone())).await;
    let unique = uuid::Uuid::new_v4().simple();
    let (scratch, building) = (dir.join(format!("{unique}.loading.db")), dir.join(format!("{unique}.demo.db")));
    std::fs::copy(migrated, &scratch).expect("copy the SQLite template");
    let db =
        open_sqlite(&format!("sqlite://{}?mode=rwc", scratch.display())).await.expect("open the SQLite demo template");
    assert!(jaminan::datasets::demo::load_if_empty(&db).await.expect("load the demo dataset"), "loads when empty");
    db.execute_unprepared(&format!("VACUUM INTO '{}'", building.display())).await.expect("write the demo template");
    db.close().await.ok();
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", scratch.display())).ok();
    }
    std::fs::rename(&building, &path).expect("put the demo template in place");
    path
}

/// The migrated PostgreSQL template with the demo dataset loaded, made like `create_template`.
async fn pg_demo_template(base: String) -> String {
    let migrated = PG_TEMPLATE.get_or_init(|| create_template(base.clone())).await;
    let (time, size) = this_build();
    let name = format!("jaminan_demo_{time}_{size:x}");
    let mut options = sea_orm::ConnectOptions::new(base.clone());
    options.max_connections(1).sqlx_logging(false);
    let admin = sea_orm::Database::connect(options).await.expect("postgres admin connection");
    admin.execute_unprepared("SELECT pg_advisory_lock(727275)").await.expect("lock");
    let existing: Vec<String> = admin
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT datname FROM pg_database WHERE datname LIKE 'jaminan_demo_%'",
        ))
        .await
        .expect("look up demo templates")
        .iter()
        .filter_map(|row| row.try_get::<String>("", "datname").ok())
        .collect();
    for old in existing.iter().filter(|n| outdated_demo(n.trim_start_matches("jaminan_"), time)) {
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)")).await.ok();
    }
    if !existing.contains(&name) {
        let building = format!("{name}_building");
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {building}")).await.expect("drop partial template");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {building} TEMPLATE {migrated}"))
            .await
            .expect("create demo template");
        let db = jaminan::app::startup::open_url(&database_url(&base, &building)).await.expect("open demo template");
        assert!(jaminan::datasets::demo::load_if_empty(&db).await.expect("load the demo dataset"), "loads when empty");
        db.close().await.ok();
        admin
            .execute_unprepared(&format!("ALTER DATABASE {building} RENAME TO {name}"))
            .await
            .expect("rename demo template");
    }
    admin.execute_unprepared("SELECT pg_advisory_unlock(727275)").await.ok();
    admin.close().await.ok();
    name
}
