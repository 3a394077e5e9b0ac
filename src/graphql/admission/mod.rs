//! What a request's document must pass before it runs, over HTTP and WebSocket alike: trusted
//! documents, parsing (cached) and the limits.
pub mod documents;
pub mod limits;
pub mod trusted_documents;
