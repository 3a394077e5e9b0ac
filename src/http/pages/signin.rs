//! Sign-in on the server's pages (GraphiQL, /dashboard, /import) with `--oidc-client-id`: the
//! browser runs Authorization Code with PKCE against the issuer (assets/signin/signin.js, over
//! the vendored oauth4webapi) and keeps the access token in the tab's memory. The server only
//! tells the pages where to sign in (a JSON block in each page) and lets them reach the issuer
//! (its origin in the pages' `connect-src`); the tokens they get are checked as any other
//! (`auth::oidc`). Without the flag the pages keep their API-key field.
use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;

use crate::config::OidcArgs;

const ASSETS: &[(&str, &str, &[u8])] = &[
    ("signin.js", "text/javascript; charset=utf-8", include_bytes!("../../../assets/signin/signin.js")),
    ("oauth4webapi.js", "text/javascript; charset=utf-8", include_bytes!("../../../assets/signin/oauth4webapi.js")),
];

/// Where the pages sign people in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    issuer: String,
    client_id: String,
    /// The issuer's origin (`https://sso.example.go.id`), which the pages may connect to:
    /// discovery, the token endpoint and refreshes are fetches from the page.
    origin: String,
}

impl SignIn {
    /// The sign-in `serve`'s flags describe: None without `--oidc-client-id`, an error for an
    /// issuer that is no http(s) URL.
    pub fn from_args(args: &OidcArgs) -> Result<Option<SignIn>, String> {
        let (Some(issuer), Some(client_id)) = (&args.oidc_issuer, &args.oidc_client_id) else { return Ok(None) };
        let url = reqwest::Url::parse(issuer).map_err(|err| format!("--oidc-issuer {issuer}: {err}"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(format!("--oidc-issuer {issuer}: not an http(s) URL"));
        }
        let origin = url.origin().ascii_serialization();
        Ok(Some(SignIn { issuer: issuer.clone(), client_id: client_id.clone(), origin }))
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// The JSON a page reads its sign-in from (`null`: keys only), safe inside a `<script>` element.
pub fn settings_json(sign_in: Option<&SignIn>) -> String {
    let value = match sign_in {
        Some(sign_in) => serde_json::json!({ "issuer": sign_in.issuer, "clientId": sign_in.client_id }),
        None => serde_json::Value::Null,
    };
    // `</script>` in a configured value must not end the element.
    value.to_string().replace('<', "\\u003c")
}

/// A page's HTML with its sign-in settings, served with the page policy that lets it reach the
/// issuer.
pub fn page(html: &str, sign_in: Option<&SignIn>) -> Response {
    crate::http::browser::page_connecting(
        html.replace("{{SIGNIN}}", &settings_json(sign_in)),
        sign_in.map(SignIn::origin),
    )
}

/// `/signin/assets/{file}`: the sign-in script and the library it uses.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/signin/assets/{file}", get(asset))
}

async fn asset(Path(file): Path<String>) -> Response {
    crate::http::browser::vendored_asset(ASSETS, &file, "public, max-age=3600")
}
