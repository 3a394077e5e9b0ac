//! The operators' import page at `/import`: a regency's enrollment list (.csv or .xlsx) checked
//! by a dry run of `importEnrollments`, its errors shown and downloadable, then imported. Made
//! like the dashboard: Bahasa Indonesia first (English with `?lang=en`), its assets compiled into
//! the binary (no CDN), the same security headers, and only trusted documents, by id, so that it
//! works where only trusted documents run. The API key stays in the browser tab.
use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;

use super::signin::SignIn;

use crate::graphql::admission::trusted_documents::{IMPORT_DOCUMENTS, sha256_hex};

const ASSETS: &[(&str, &str, &[u8])] = &[
    ("import.js", "text/javascript; charset=utf-8", include_bytes!("../../../assets/import/import.js")),
    ("import.css", "text/css; charset=utf-8", include_bytes!("../../../assets/import/import.css")),
];

const PAGE: &str = include_str!("../../../assets/import/index.html");

pub fn routes<S: Clone + Send + Sync + 'static>(sign_in: Option<SignIn>) -> Router<S> {
    Router::new()
        .route("/import", get(move || async move { page(sign_in.as_ref()) }))
        .route("/import/assets/{file}", get(asset))
}

/// The page, with the ids of its documents and its sign-in (WebCrypto is missing on plain-HTTP intranet
/// addresses, so the browser cannot hash them itself).
fn page(sign_in: Option<&SignIn>) -> Response {
    let ids: serde_json::Map<String, serde_json::Value> = IMPORT_DOCUMENTS
        .iter()
        .map(|(name, text)| ((*name).to_owned(), format!("sha256:{}", sha256_hex(text)).into()))
        .collect();
    super::signin::page(&PAGE.replace("{{DOCUMENTS}}", &serde_json::Value::Object(ids).to_string()), sign_in)
}

async fn asset(Path(file): Path<String>) -> Response {
    crate::http::browser::vendored_asset(ASSETS, &file, "public, max-age=3600")
}
