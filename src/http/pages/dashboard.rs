//! The reference dashboard at `/dashboard`: a regency's coverage for regency staff, in Bahasa
//! Indonesia first (English as a switch), served with its assets compiled into the binary (no
//! CDN: it works on an intranet). It talks to the server only through the public GraphQL API,
//! by the ids of its trusted documents, which are always trusted (see `trusted_documents`).
use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;

use super::signin::SignIn;

use crate::graphql::admission::trusted_documents::DASHBOARD_DOCUMENTS;

const ASSETS: &[(&str, &str, &[u8])] = &[
    ("dashboard.js", "text/javascript; charset=utf-8", include_bytes!("../../../assets/dashboard/dashboard.js")),
    ("dashboard.css", "text/css; charset=utf-8", include_bytes!("../../../assets/dashboard/dashboard.css")),
];

const PAGE: &str = include_str!("../../../assets/dashboard/index.html");

pub fn routes<S: Clone + Send + Sync + 'static>(sign_in: Option<SignIn>) -> Router<S> {
    Router::new()
        .route("/dashboard", get(move || async move { page(sign_in.as_ref()) }))
        .route("/dashboard/assets/{file}", get(asset))
}

/// The page, with the ids of its documents (so that the browser need not hash them: WebCrypto
/// is missing on plain-HTTP intranet addresses) and its sign-in.
fn page(sign_in: Option<&SignIn>) -> Response {
    let ids: serde_json::Map<String, serde_json::Value> = DASHBOARD_DOCUMENTS
        .iter()
        .map(|(name, text)| {
            (
                (*name).to_owned(),
                format!("sha256:{}", crate::graphql::admission::trusted_documents::sha256_hex(text)).into(),
            )
        })
        .collect();
    super::signin::page(&PAGE.replace("{{DOCUMENTS}}", &serde_json::Value::Object(ids).to_string()), sign_in)
}

async fn asset(Path(file): Path<String>) -> Response {
    crate::http::browser::vendored_asset(ASSETS, &file, "public, max-age=3600")
}
