//! Server configuration from flags with environment fallbacks.
use std::net::SocketAddr;

/// Where the embedded default database lives (created with its folder when missing).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/jaminan.db?mode=rwc";

/// A statement running longer on PostgreSQL is cancelled (the request gets a clear error).
pub const DEFAULT_STATEMENT_TIMEOUT_SECS: u64 = 10;

/// A request waits this long for a connection before it is answered 503: long enough for a
/// burst to drain, short enough that an outage is reported at once rather than after 30 s.
pub const DEFAULT_ACQUIRE_TIMEOUT_MS: u64 = 2_000;

/// The default k: no published figure is made of fewer workers or payouts than this.
pub const DEFAULT_MIN_COUNT: i64 = 10;

/// Whether requests may (or must) name trusted documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TrustedMode {
    /// `documentId` is not understood; every request sends its query.
    #[default]
    Off,
    /// Trusted documents by id, and arbitrary documents too.
    Allowed,
    /// Only trusted documents, except for ADMIN keys.
    Only,
}

/// Who may take a payout's steps after its submission (`--four-eyes`); people are compared, not
/// keys (`domain::four_eyes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FourEyes {
    /// The person who submitted a payout neither verifies nor approves it.
    #[default]
    Submitter,
    /// Besides, the person who verified a payout does not approve it: three people per payout.
    Strict,
}

/// Global options of the command line: accepted before or after any subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// `postgres://user@host/db` or `sqlite://path?mode=rwc`.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// PostgreSQL cancels any statement running longer; SQLite gives up waiting for the write
    /// lock after as long (0: no limit).
    #[arg(long, global = true, env = "JAMINAN_STATEMENT_TIMEOUT_SECS", default_value_t = DEFAULT_STATEMENT_TIMEOUT_SECS)]
    pub statement_timeout_secs: u64,
    /// Connections in the pool; PostgreSQL default twice the CPU cores, at least 4; SQLite 8.
    /// (`serve` on PostgreSQL gives mutations a pool of their own: --db-max-write-connections.)
    #[arg(long, global = true, env = "JAMINAN_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,
    /// Milliseconds a request waits for a database connection (every one busy, or the database
    /// unreachable) before it is answered 503 SERVICE_UNAVAILABLE.
    #[arg(long, global = true, env = "JAMINAN_DB_ACQUIRE_TIMEOUT_MS", default_value_t = DEFAULT_ACQUIRE_TIMEOUT_MS)]
    pub db_acquire_timeout_ms: u64,
}

impl DatabaseArgs {
    /// The defaults for a database URL (tests and tools).
    pub fn for_url(url: &str) -> Self {
        DatabaseArgs {
            database_url: url.to_owned(),
            statement_timeout_secs: DEFAULT_STATEMENT_TIMEOUT_SECS,
            db_max_connections: None,
            db_acquire_timeout_ms: DEFAULT_ACQUIRE_TIMEOUT_MS,
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[arg(long, env = "JAMINAN_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Serve /metrics (Prometheus) on this address instead of on --listen: keep it off the public
    /// listener (a private interface, or a port the firewall opens only to Prometheus).
    #[arg(long, env = "JAMINAN_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// On --listen, /metrics answers an ADMIN key or this token (`Authorization: Bearer TOKEN`,
    /// Prometheus's `authorization` scrape setting); its counts of payouts are exact and national.
    /// --metrics-listen stays open to whoever reaches it.
    #[arg(long, env = "JAMINAN_METRICS_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// A PostgreSQL read replica: queries read from it while it answers, mutations (and the
    /// reads they make) go to --database-url. Same pool settings as the primary.
    #[arg(long, env = "DATABASE_READ_URL", value_name = "URL")]
    pub read_database_url: Option<String>,
    /// Connections for mutations on PostgreSQL, a pool of their own beside the reads' (default
    /// four times the CPU cores, at least 8; 0: mutations share the reads' pool). A write holds
    /// its connection through a transaction of several round trips and the commit's flush, a read
    /// for one round trip: in one small pool, writers waited for connections, and a burst of
    /// them took those reads need.
    #[arg(long, env = "JAMINAN_DB_MAX_WRITE_CONNECTIONS", value_name = "N")]
    pub db_max_write_connections: Option<u32>,
    /// A direct PostgreSQL connection for the subscriptions' LISTEN, when --database-url goes
    /// through PgBouncer in transaction mode (which cannot keep a session's LISTEN).
    #[arg(long, env = "DATABASE_LISTEN_URL", value_name = "URL")]
    pub listen_database_url: Option<String>,
    /// Load the deterministic demo dataset (Kabupaten Tangerang 2022-2023) into an empty database.
    #[arg(long)]
    pub demo: bool,
    /// Seconds the requests in flight may run on after SIGTERM or Ctrl-C before they are cut
    /// (rolled back). Kubernetes waits 30 s before it kills a pod.
    #[arg(long, env = "JAMINAN_SHUTDOWN_GRACE_SECS", default_value_t = 25)]
    pub shutdown_grace_secs: u64,
    #[command(flatten)]
    pub limits: ApiLimits,
    #[command(flatten)]
    pub rate_limits: RateLimits,
    #[command(flatten)]
    pub shared_budgets: SharedBudgetArgs,
    #[command(flatten)]
    pub disclosure: DisclosureArgs,
    #[command(flatten)]
    pub browser: BrowserSettings,
    #[command(flatten)]
    pub oidc: OidcArgs,
    /// The trusted documents of the frontends: the JSON map of hash -> document that GraphQL Code
    /// Generator (client preset, persistedDocuments) or Relay write at build time.
    #[arg(long, env = "JAMINAN_TRUSTED_DOCUMENTS", value_name = "FILE")]
    pub trusted_documents: Option<std::path::PathBuf>,
    /// `allowed`: requests may name trusted documents by `documentId` and send other documents
    /// too (the default with a manifest); `only`: keys below ADMIN and anonymous callers run
    /// nothing else; `off`: no trusted documents (the default without a manifest).
    #[arg(long, env = "JAMINAN_TRUSTED_DOCUMENTS_MODE", value_enum)]
    pub trusted_documents_mode: Option<TrustedMode>,
    /// `submitter`: the person who submitted a payout may not verify or approve it, whatever key
    /// or token they use; `strict`: besides, the person who verified it may not approve it.
    #[arg(long, env = "JAMINAN_FOUR_EYES", value_enum, default_value = "submitter")]
    pub four_eyes: FourEyes,
    /// Milliseconds between the audit sealer's rounds (PostgreSQL): committed audit entries are
    /// chained within about two rounds. 0: this instance does not seal (another one must, or the
    /// entries stay unsealed; for benchmarks).
    #[arg(long, env = "JAMINAN_AUDIT_SEAL_MILLIS", default_value_t = 200)]
    pub audit_seal_millis: u64,
}

/// The default claim that carries a token's role: Keycloak's realm roles.
pub const DEFAULT_ROLE_CLAIM: &str = "realm_access.roles";
/// The default claim that carries a token's area: a Keycloak user attribute mapped into the token.
pub const DEFAULT_SCOPE_CLAIM: &str = "jaminan_scope";

/// People signing in through an OpenID Connect provider (Keycloak): their access tokens are
/// accepted beside API keys (see `auth::oidc` and docs/oidc.md).
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct OidcArgs {
    /// The issuer (`https://sso.example.go.id/realms/jaminan`): its discovery document is read at
    /// start and its signing keys (JWKS) are kept in memory. Without it, only API keys are accepted.
    #[arg(long, env = "JAMINAN_OIDC_ISSUER", value_name = "URL", requires = "oidc_audience")]
    pub oidc_issuer: Option<String>,
    /// The audience a token must name in `aud` (Keycloak: an audience mapper on the client).
    #[arg(long, env = "JAMINAN_OIDC_AUDIENCE", value_name = "AUDIENCE", requires = "oidc_issuer")]
    pub oidc_audience: Option<String>,
    /// The claim holding the role (VIEWER, OPERATOR, SUPERVISOR or ADMIN, any case; a list may
    /// hold other roles too, the highest of these counts); dots go into nested objects.
    #[arg(long, env = "JAMINAN_OIDC_ROLE_CLAIM", default_value = DEFAULT_ROLE_CLAIM)]
    pub oidc_role_claim: String,
    /// The claim holding the area: a province ("36") or regency ("36.03") code, or ID for the
    /// whole country; ADMIN tokens may leave it out.
    #[arg(long, env = "JAMINAN_OIDC_SCOPE_CLAIM", default_value = DEFAULT_SCOPE_CLAIM)]
    pub oidc_scope_claim: String,
    /// The public client people sign in with on the server's pages (GraphiQL, /dashboard,
    /// /import): Authorization Code with PKCE against the issuer, the token kept in the tab's
    /// memory. Without it the pages ask for an API key.
    #[arg(long, env = "JAMINAN_OIDC_CLIENT_ID", value_name = "CLIENT_ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
}

/// What browsers and HTTP caches get (see `web`).
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct BrowserSettings {
    /// Origins whose pages may call the API from a browser, comma-separated
    /// (`https://dasbor.tangerangkab.go.id`); none by default: only pages of the server's own
    /// origin (GraphiQL) can.
    #[arg(long, env = "JAMINAN_CORS_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub cors_origins: Vec<axum::http::HeaderValue>,
    /// Seconds browsers and proxies may reuse an anonymous GET of public figures (areas and
    /// statistics); every other response is `private, no-store`.
    #[arg(long, env = "JAMINAN_PUBLIC_MAX_AGE_SECS", default_value_t = 60)]
    pub public_max_age_secs: u64,
}

impl Default for BrowserSettings {
    fn default() -> Self {
        BrowserSettings { cors_origins: Vec::new(), public_max_age_secs: 60 }
    }
}

/// An origin as browsers send it: scheme, host and optional port, nothing after.
fn parse_origin(text: &str) -> Result<axum::http::HeaderValue, String> {
    let text = text.trim();
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    let valid = rest.is_some_and(|host| {
        !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    });
    if !valid {
        return Err(format!("{text:?} is not an origin like https://dashboard.example.go.id (no path, no slash)"));
    }
    axum::http::HeaderValue::from_str(text).map_err(|e| e.to_string())
}

/// Small-count suppression of the statistics that callers outside an area's scope receive.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct DisclosureArgs {
    /// k: a figure made of fewer workers or payouts than this is withheld from callers outside the
    /// area's scope (with as many others as keep it from being recovered by subtraction).
    #[arg(long, env = "JAMINAN_MIN_PUBLIC_COUNT", default_value_t = DEFAULT_MIN_COUNT)]
    pub min_public_count: i64,
    /// Seconds a year's published figures are served at most before they are recomputed from the
    /// summaries when no change notification says they changed (a change is published about a
    /// second after it is committed); 0: recomputed on the first read after each change.
    #[arg(long, env = "JAMINAN_PUBLIC_STATS_REFRESH_SECS", default_value_t = 30)]
    pub public_stats_refresh_secs: u64,
}

/// Budgets per key and per client over time (see `throttle`).
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct RateLimits {
    /// Refusals per key and hour that reveal a record the key cannot see (a CONFLICT on a NIK or
    /// membership number registered elsewhere, a death benefit under another regency); each is
    /// audited. Past it: 429 RATE_LIMITED.
    #[arg(long, env = "JAMINAN_PROBES_PER_HOUR", default_value_t = RateLimits::DEFAULT.probes_per_hour)]
    pub probes_per_hour: u32,
    /// Requests per minute of one API key (a dashboard sends a few per page; an office may share
    /// one key).
    #[arg(long, env = "JAMINAN_KEY_REQUESTS_PER_MINUTE", default_value_t = RateLimits::DEFAULT.key_requests_per_minute)]
    pub key_requests_per_minute: u32,
    /// Requests per minute without a key, per client address (an office behind one NAT address
    /// shares it).
    #[arg(long, env = "JAMINAN_ANONYMOUS_REQUESTS_PER_MINUTE", default_value_t = RateLimits::DEFAULT.anonymous_requests_per_minute)]
    pub anonymous_requests_per_minute: u32,
    /// Wrong or revoked API keys per hour and client address; past it, unknown keys from that
    /// address are refused unchecked until the budget refills (valid keys keep working).
    #[arg(long, env = "JAMINAN_FAILED_KEYS_PER_HOUR", default_value_t = RateLimits::DEFAULT.failed_keys_per_hour)]
    pub failed_keys_per_hour: u32,
    /// WebSocket connections open at once per API key, or per client address without a key (each
    /// holds up to 100 subscriptions; a dashboard needs one).
    #[arg(long, env = "JAMINAN_WEBSOCKETS_PER_CALLER", default_value_t = RateLimits::DEFAULT.websockets_per_caller)]
    pub websockets_per_caller: u32,
    /// WebSocket connections, in all, that have not sent `connection_init` yet (each may wait one
    /// `--websocket-ping-secs` for it): a flood of sockets that never introduce themselves must not
    /// take every file descriptor. Until then a socket also counts against its client address.
    #[arg(long, env = "JAMINAN_PENDING_WEBSOCKETS", default_value_t = RateLimits::DEFAULT.pending_websockets)]
    pub pending_websockets: u32,
    /// Proxies whose `X-Forwarded-For` is believed (comma-separated IP addresses); by default
    /// none, and the client address is the connection's.
    #[arg(long, env = "JAMINAN_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl RateLimits {
    pub const DEFAULT: RateLimits = RateLimits {
        probes_per_hour: 20,
        key_requests_per_minute: 1200,
        anonymous_requests_per_minute: 1200,
        failed_keys_per_hour: 20,
        websockets_per_caller: 20,
        pending_websockets: 1000,
        trusted_proxies: Vec::new(),
    };
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::DEFAULT
    }
}

/// Where instances behind one load balancer keep the rate budgets they share.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct SharedBudgetArgs {
    /// Redis (`redis://host:6379/0`) holding the rate budgets and WebSocket caps that every
    /// instance shares; without it each instance counts its own (N instances allow N times each
    /// budget). While Redis does not answer, each instance falls back to its own.
    #[arg(long, env = "JAMINAN_REDIS_URL", value_name = "URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of this deployment's keys in Redis (deployments sharing one Redis keep apart).
    #[arg(long, env = "JAMINAN_REDIS_PREFIX", default_value = "jaminan")]
    pub redis_prefix: String,
}

/// What one request may ask of the server. The defaults leave room for every dashboard query
/// while keeping one request from monopolising the server; see docs/operations.md's checklist.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiLimits {
    /// Deepest selection nesting.
    #[arg(long, env = "JAMINAN_MAX_DEPTH", default_value_t = ApiLimits::DEFAULT.max_depth)]
    pub max_depth: usize,
    /// Cost budget: every field costs 1, a connection's fields cost first/last times over.
    #[arg(long, env = "JAMINAN_MAX_COMPLEXITY", default_value_t = ApiLimits::DEFAULT.max_complexity)]
    pub max_complexity: usize,
    /// Aliased fields in one document.
    #[arg(long, env = "JAMINAN_MAX_ALIASES", default_value_t = ApiLimits::DEFAULT.max_aliases)]
    pub max_aliases: usize,
    /// Directives on one field.
    #[arg(long, env = "JAMINAN_MAX_DIRECTIVES", default_value_t = ApiLimits::DEFAULT.max_directives)]
    pub max_directives: usize,
    /// Lexical tokens in one document, counted before parsing.
    #[arg(long, env = "JAMINAN_MAX_TOKENS", default_value_t = ApiLimits::DEFAULT.max_tokens)]
    pub max_tokens: usize,
    /// Bytes of one request body (document and variables).
    #[arg(long, env = "JAMINAN_MAX_BODY_BYTES", default_value_t = ApiLimits::DEFAULT.max_body_bytes)]
    pub max_body_bytes: usize,
    /// Seconds a request may run before it is cancelled.
    #[arg(long, env = "JAMINAN_REQUEST_TIMEOUT_SECS", default_value_t = ApiLimits::DEFAULT.request_timeout_secs)]
    pub request_timeout_secs: u64,
    /// Bytes of a file uploaded to importEnrollments (a multipart request).
    #[arg(long, env = "JAMINAN_MAX_UPLOAD_BYTES", default_value_t = ApiLimits::DEFAULT.max_upload_bytes)]
    pub max_upload_bytes: usize,
    /// Seconds an upload request (an import) may run before it is cancelled and rolled back.
    #[arg(long, env = "JAMINAN_IMPORT_TIMEOUT_SECS", default_value_t = ApiLimits::DEFAULT.import_timeout_secs)]
    pub import_timeout_secs: u64,
    /// Seconds between the server's pings on a WebSocket. A connection that sends nothing (not
    /// even a pong) for three of them is closed, and so is one without `connection_init` after
    /// one: a vanished client must not keep its place (`--websockets-per-caller`).
    #[arg(long, env = "JAMINAN_WEBSOCKET_PING_SECS", default_value_t = ApiLimits::DEFAULT.websocket_ping_secs)]
    pub websocket_ping_secs: u64,
    /// Schema introspection for anonymous callers (keyed ones, and GraphiQL with a key, keep it)
    /// and field suggestions in errors; turn off in production.
    #[arg(long, env = "JAMINAN_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,
}

impl ApiLimits {
    pub const DEFAULT: ApiLimits = ApiLimits {
        max_depth: 16,
        max_complexity: 20_000,
        max_aliases: 50,
        max_directives: 10,
        max_tokens: 10_000,
        max_body_bytes: 1024 * 1024,
        request_timeout_secs: 30,
        max_upload_bytes: 200 * 1024 * 1024,
        import_timeout_secs: 600,
        websocket_ping_secs: 15,
        introspection: true,
    };
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits::DEFAULT
    }
}
