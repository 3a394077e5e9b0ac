//! People's OpenID Connect access tokens beside API keys, against a real provider: the certified
//! `oidc-provider` (tests/node/oidc.mjs) on a loopback port, issuing JWT access tokens through its
//! client_credentials grant with Keycloak-shaped claims, its keys rotated during a test. Tokens
//! the server must refuse are crafted here with the provider's own keys. Without Node or the
//! package the provider tests say why they skip, unless JAMINAN_REQUIRE_NODE is set (CI), when
//! they fail.
use crate::common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{TestApp, data, error_code};
use jaminan::auth::oidc::{self, AccessTokens, Settings};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const AUDIENCE: &str = "https://jaminan.test";
const REGISTER: &str = "mutation($input: RegisterWorkerInput!) { registerWorker(input: $input) { id } }";

/// The provider as a child process of the test (ended with it).
pub(crate) struct Provider {
    child: Child,
    _stdin: ChildStdin,
    described: Value,
    http: reqwest::Client,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    /// Starts tests/node/oidc.mjs; None when the test is skipped.
    pub(crate) async fn start() -> Option<Provider> {
        Provider::start_with(300, &[]).await
    }

    /// The same, its access tokens valid for `ttl` seconds.
    pub(crate) async fn start_with_ttl(ttl: u64) -> Option<Provider> {
        Provider::start_with(ttl, &[]).await
    }

    /// Starts tests/node/oidc.mjs, its access tokens valid for `ttl` seconds, with more arguments
    /// (the pages' origin: tests/it/signin.rs).
    pub(crate) async fn start_with(ttl: u64, args: &[&str]) -> Option<Provider> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node");
        if let Some(why) = crate::clients::node_unavailable() {
            assert!(std::env::var_os("JAMINAN_REQUIRE_NODE").is_none(), "JAMINAN_REQUIRE_NODE is set, but {why}");
            eprintln!("skipped: {why}");
            return None;
        }
        let mut child = Command::new("node")
            .arg(dir.join("oidc.mjs"))
            .arg(AUDIENCE)
            .arg(ttl.to_string())
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node oidc.mjs");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let reading = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let line = tokio::time::timeout(Duration::from_secs(30), reading)
            .await
            .expect("the provider starts within 30 s")
            .expect("join")
            .expect("its first line");
        let described: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        Some(Provider { child, _stdin: stdin, described, http: reqwest::Client::new() })
    }

    pub(crate) fn issuer(&self) -> &str {
        self.described["issuer"].as_str().expect("issuer")
    }

    /// The server's settings for this provider (the defaults of `serve`, Keycloak-shaped claims).
    pub(crate) fn settings(&self) -> Settings {
        Settings {
            issuer: self.issuer().to_owned(),
            audience: AUDIENCE.to_owned(),
            role_claim: jaminan::config::DEFAULT_ROLE_CLAIM.to_owned(),
            scope_claim: jaminan::config::DEFAULT_SCOPE_CLAIM.to_owned(),
            leeway: oidc::LEEWAY,
            unknown_kid_refetch: oidc::UNKNOWN_KID_REFETCH,
            refresh: oidc::JWKS_REFRESH,
        }
    }

    /// An access token for `client` from the provider's token endpoint (client_credentials).
    async fn token_for(&self, client: &str, audience: &str) -> String {
        let body = format!(
            "grant_type=client_credentials&client_id={client}&client_secret={client}-secret&resource={}",
            audience.replace(':', "%3A").replace('/', "%2F")
        );
        let response: Value = self
            .http
            .post(format!("{}/token", self.issuer()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("token request")
            .json()
            .await
            .expect("token response");
        response["access_token"].as_str().unwrap_or_else(|| panic!("no token: {response}")).to_owned()
    }

    pub(crate) async fn token(&self, client: &str) -> String {
        self.token_for(client, AUDIENCE).await
    }

    /// Publishes a new RSA signing key (the old one stays published) and signs with it.
    async fn rotate(&mut self) {
        let response = self.http.post(format!("{}/rotate", self.issuer())).send().await.expect("rotate");
        self.described = response.json().await.expect("rotated");
    }

    /// A token signed with the provider's own RSA key (and its `kid`, unless `kid` says otherwise).
    fn craft(&self, claims: Value, kid: Option<&str>) -> String {
        let rsa = &self.described["rsa"];
        let der = STANDARD.decode(rsa["der"].as_str().expect("der")).expect("base64");
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.unwrap_or(rsa["kid"].as_str().expect("kid")).to_owned());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_der(&der)).expect("sign")
    }

    /// Claims as the provider writes them for an OPERATOR of 36.03, valid for five minutes.
    fn claims(&self) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer(), "aud": AUDIENCE, "sub": "crafted", "iat": now, "exp": now + 300,
            "realm_access": { "roles": ["operator"] }, "jaminan_scope": "36.03", "name": "Crafted",
        })
    }
}

/// The app accepting the provider's tokens.
pub(crate) async fn accepting(app: &TestApp, settings: Settings) -> (TestApp, Arc<AccessTokens>) {
    let (tokens, first) = AccessTokens::start(settings).await.expect("client");
    assert!(first.expect("the provider's keys") >= 2, "an RSA and an EC key");
    let mut state = app.state.clone();
    state.tokens = Some(tokens.clone());
    (app.with_state(state), tokens)
}

fn worker(nik: &str) -> Value {
    json!({ "input": { "nik": nik, "fullName": "Wayan Sudirta", "regencyCode": "36.03", "occupation": "FARMER" } })
}

fn message(response: &Value) -> &str {
    response["errors"][0]["message"].as_str().unwrap_or_else(|| panic!("expected an error, got {response}"))
}

// RS256 and ES256 tokens from the provider's real flow act as the people they name: roles from
// realm_access.roles (other realm roles ignored), areas from jaminan_scope (`ID`: the whole
// country; Keycloak's one-value list), their names in the audit log.
backend_test!(provider_tokens_act_as_their_people, |app: TestApp| async move {
    let Some(provider) = Provider::start().await else { return };
    let (app, _) = accepting(&app, provider.settings()).await;
    let operator = provider.token("desk-operator").await; // RS256, OPERATOR of 36.03
    let supervisor = provider.token("desk-supervisor").await; // ES256, SUPERVISOR of 36.03
    let viewer = provider.token("national-viewer").await; // ES256, VIEWER of the country
    let admin = provider.token("central-admin").await; // RS256, ADMIN without a scope

    let registered = app.gql_as(&operator, REGISTER, worker("3603010101900001")).await;
    data(&registered);
    let registered = app.gql_as(&supervisor, REGISTER, worker("3603010101900002")).await;
    data(&registered);
    let refused = app.gql_as(&viewer, REGISTER, worker("3603010101900003")).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let outside = json!({ "input": { "nik": "3201010101900004", "fullName": "Asep", "regencyCode": "32.01", "occupation": "FARMER" } });
    let refused = app.gql_as(&operator, REGISTER, outside).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "outside the token's area: {refused}");

    let read = app.gql_as(&viewer, "{ workers(first: 10) { totalCount } }", json!({})).await;
    assert_eq!(data(&read)["workers"]["totalCount"], 2, "{read}");
    let log = app.gql_as(&admin, "{ auditLog(first: 10) { nodes { operation apiKeyName } } }", json!({})).await;
    let names: Vec<&str> =
        data(&log)["auditLog"]["nodes"].as_array().unwrap().iter().map(|n| n["apiKeyName"].as_str().unwrap()).collect();
    assert!(names.contains(&"Siti Rahayu") && names.contains(&"Budi Santoso"), "{log}");
    let refused = app.gql_as(&operator, "{ auditLog(first: 1) { nodes { id } } }", json!({})).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
});

// A token the provider issued is still refused when it carries no role of ours, or an area that
// is none; nothing is written.
backend_test!(provider_tokens_without_a_role_or_an_area_are_refused, |app: TestApp| async move {
    let Some(provider) = Provider::start().await else { return };
    let (app, _) = accepting(&app, provider.settings()).await;
    let no_role = app.gql_as(&provider.token("no-role").await, REGISTER, worker("3603010101900001")).await;
    assert_eq!(error_code(&no_role), "UNAUTHENTICATED", "{no_role}");
    assert!(message(&no_role).contains("realm_access.roles"), "{no_role}");
    let bad_scope =
        app.gql_as(&provider.token("bad-scope").await, "{ workers(first: 1) { totalCount } }", json!({})).await;
    assert_eq!(error_code(&bad_scope), "UNAUTHENTICATED", "{bad_scope}");
    assert!(message(&bad_scope).contains("jaminan_scope"), "{bad_scope}");
    assert_eq!(app.count_rows("worker").await, 0);
});

// Each token that must not pass, refused with UNAUTHENTICATED and a message that says why, and
// nothing written: a forged signature, `alg: none`, HS256 "signed" with the provider's public
// key, another issuer, another audience (a real token of the provider for another app), an
// expired token, and a `kid` the provider does not publish.
backend_test!(forged_and_misdirected_tokens_are_refused, |app: TestApp| async move {
    let Some(provider) = Provider::start().await else { return };
    let (app, tokens) = accepting(&app, provider.settings()).await;
    let real = provider.token("desk-operator").await;
    let kid = provider.described["rsa"]["kid"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now().timestamp();

    let forged = {
        let (signed, signature) = real.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
        bytes[0] ^= 1;
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes))
    };
    let unsigned = {
        let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "kid": kid }).to_string());
        let payload = URL_SAFE_NO_PAD.encode(provider.claims().to_string());
        format!("{header}.{payload}.")
    };
    let hmac_with_public_key = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        let pem = provider.described["rsa"]["pem"].as_str().unwrap();
        jsonwebtoken::encode(&header, &provider.claims(), &EncodingKey::from_secret(pem.as_bytes())).unwrap()
    };
    let mut other_issuer = provider.claims();
    other_issuer["iss"] = json!("https://sso.elsewhere.example/realms/jaminan");
    let mut expired = provider.claims();
    (expired["iat"], expired["exp"]) = (json!(now - 600), json!(now - 120)); // past the 30 s leeway
    let other_audience = provider.token_for("desk-operator", "https://other-app.test").await;

    let fetches = tokens.fetches();
    let cases = [
        ("a forged signature", forged, "signature"),
        ("alg none", unsigned, "signature"),
        ("HS256 with the public key", hmac_with_public_key, "signature"),
        ("another issuer", provider.craft(other_issuer, None), "another issuer"),
        ("another audience", other_audience, "another audience"),
        ("an expired token", provider.craft(expired, None), "expired"),
        ("an unknown kid", provider.craft(provider.claims(), Some("retired-key")), "does not publish"),
    ];
    for (what, token, says) in cases {
        let refused = app.gql_as(&token, REGISTER, worker("3603010101900001")).await;
        assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{what}: {refused}");
        assert!(message(&refused).contains(says), "{what}: {refused}");
    }
    assert_eq!(app.count_rows("worker").await, 0);
    // The unknown kid made the server read the keys again, once.
    assert_eq!(tokens.fetches(), fetches + 1);
    // The real token, and one crafted with the provider's key and the right claims, pass.
    data(&app.gql_as(&real, REGISTER, worker("3603010101900001")).await);
    data(&app.gql_as(&provider.craft(provider.claims(), None), REGISTER, worker("3603010101900002")).await);
});

// The provider rotates its signing key: the server picks the new key up at the first token
// signed with it, without a restart. An unknown kid re-reads the keys at most once a minute (a
// second rotation within the minute is refused until then), and while the provider is down the
// keys held keep the tokens they signed valid.
backend_test!(rotated_keys_are_picked_up_and_the_provider_may_go_down, |app: TestApp| async move {
    let Some(mut provider) = Provider::start().await else { return };
    let (app, tokens) = accepting(&app, provider.settings()).await;
    let query = "{ workers(first: 1) { totalCount } }";
    let before = provider.token("desk-operator").await;
    data(&app.gql_as(&before, query, json!({})).await);
    let fetches = tokens.fetches();

    provider.rotate().await;
    let rotated = provider.token("desk-operator").await;
    assert_ne!(jsonwebtoken::decode_header(&rotated).unwrap().kid, jsonwebtoken::decode_header(&before).unwrap().kid);
    data(&app.gql_as(&rotated, query, json!({})).await);
    assert_eq!(tokens.fetches(), fetches + 1, "one re-read for the new key");
    data(&app.gql_as(&before, query, json!({})).await);

    provider.rotate().await;
    let too_soon = provider.token("desk-operator").await;
    for _ in 0..3 {
        let refused = app.gql_as(&too_soon, query, json!({})).await;
        assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
    }
    assert_eq!(tokens.fetches(), fetches + 1, "no second re-read within the minute");

    drop(provider);
    data(&app.gql_as(&rotated, query, json!({})).await);
    data(&app.gql_as(&before, query, json!({})).await);
});

// Without --oidc-issuer a token is refused with a message that says to send a key; keys work.
backend_test!(tokens_are_refused_without_an_issuer, |app: TestApp| async move {
    let refused = app.gql_as("eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "{ workers(first: 1) { totalCount } }", json!({})).await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
    assert!(message(&refused).contains("no access tokens"), "{refused}");
    data(&app.gql_as(&app.admin, "{ workers(first: 1) { totalCount } }", json!({})).await);
});

// Keys end: an expired key is refused with a message that says so, one still in its term works,
// and a key held in the server's memory stops at its end too.
backend_test!(expired_keys_are_refused_saying_so, |app: TestApp| async move {
    use jaminan::auth::{Role, keys};
    let db = &app.state.db;
    let ended = keys::KeyTerms {
        owner: Some("siti".into()),
        expires_at: Some(chrono::Utc::now() - chrono::Duration::minutes(1)),
    };
    let (expired, _) = keys::create_key_with(db, "ended", Role::Viewer, None, ended).await.unwrap();
    let soon = keys::KeyTerms {
        owner: Some("budi".into()),
        expires_at: Some(chrono::Utc::now() + chrono::Duration::seconds(2)),
    };
    let (ending, row) = keys::create_key_with(db, "ending", Role::Operator, None, soon).await.unwrap();
    assert_eq!(row.owner.as_deref(), Some("budi"));

    let query = "{ workers(first: 1) { totalCount } }";
    let refused = app.gql_as(&expired, query, json!({})).await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
    assert!(message(&refused).contains("expired"), "{refused}");
    let refused = app.in_language("id").gql_as(&expired, query, json!({})).await;
    assert!(message(&refused).contains("kedaluwarsa"), "{refused}");

    data(&app.gql_as(&ending, query, json!({})).await);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let refused = app.gql_as(&ending, REGISTER, worker("3603010101900001")).await;
    assert!(message(&refused).contains("expired"), "{refused}");
    assert_eq!(app.count_rows("worker").await, 0);
});

// A token remembered as verified (the server does not check a signature per request) still ends
// at its `exp`: here with no leeway, used before and after.
backend_test!(a_remembered_token_still_expires, |app: TestApp| async move {
    let Some(provider) = Provider::start().await else { return };
    let (app, _) = accepting(&app, Settings { leeway: Duration::ZERO, ..provider.settings() }).await;
    let mut claims = provider.claims();
    claims["exp"] = json!(chrono::Utc::now().timestamp() + 2);
    let short = provider.craft(claims, None);
    let query = "{ workers(first: 1) { totalCount } }";
    data(&app.gql_as(&short, query, json!({})).await);
    data(&app.gql_as(&short, query, json!({})).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let refused = app.gql_as(&short, query, json!({})).await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
    assert!(message(&refused).contains("expired"), "{refused}");
});
