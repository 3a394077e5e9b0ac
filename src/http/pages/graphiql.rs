//! GraphiQL for browsers, served with its assets compiled into the binary (graphiql 3.9.0,
//! react 18.3.1; see assets/graphiql/README.md) so that it never depends on a CDN.
use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;

use super::signin::SignIn;

const ASSETS: &[(&str, &str, &[u8])] = &[
    ("graphiql.min.js", "text/javascript; charset=utf-8", include_bytes!("../../../assets/graphiql/graphiql.min.js")),
    ("graphiql.min.css", "text/css; charset=utf-8", include_bytes!("../../../assets/graphiql/graphiql.min.css")),
    ("start.js", "text/javascript; charset=utf-8", include_bytes!("../../../assets/graphiql/start.js")),
    ("start.css", "text/css; charset=utf-8", include_bytes!("../../../assets/graphiql/start.css")),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/graphiql/react-dom.production.min.js"),
    ),
];

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>jaminan GraphiQL</title>
  <link rel="stylesheet" href="/graphiql/assets/graphiql.min.css">
  <link rel="stylesheet" href="/graphiql/assets/start.css">
  <script id="signin" type="application/json">{{SIGNIN}}</script>
</head>
<body>
  <div id="account" hidden><span id="person"></span> <button id="signin-button" type="button">Sign in</button></div>
  <div id="graphiql">Loading GraphiQL...</div>
  <script src="/graphiql/assets/react.production.min.js"></script>
  <script src="/graphiql/assets/react-dom.production.min.js"></script>
  <script src="/graphiql/assets/graphiql.min.js"></script>
  <script type="module" src="/graphiql/assets/start.js"></script>
</body>
</html>
"#;

/// `/graphiql` (the page, also served to a browser that opens `/graphql`) and
/// `/graphiql/assets/{file}`: the vendored files, cacheable for a day (names carry no version,
/// and a new version arrives with a new binary).
pub fn routes<S: Clone + Send + Sync + 'static>(sign_in: Option<SignIn>) -> Router<S> {
    Router::new()
        .route("/graphiql", get(move || async move { page(sign_in.as_ref()) }))
        .route("/graphiql/assets/{file}", get(asset))
}

async fn asset(Path(file): Path<String>) -> Response {
    crate::http::browser::vendored_asset(ASSETS, &file, "public, max-age=86400")
}

/// The page, with where it signs people in (if it does).
pub fn page(sign_in: Option<&SignIn>) -> Response {
    super::signin::page(PAGE, sign_in)
}
