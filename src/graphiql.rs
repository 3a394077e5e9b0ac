// PLACEHOLDER until the vendored GraphiQL lands.
pub fn routes<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    axum::Router::new()
}
pub async fn page() -> axum::response::Html<String> {
    axum::response::Html(async_graphql::http::GraphiQLSource::build().endpoint("/graphql").finish())
}
