//! The server's own HTML pages: GraphiQL and the reference dashboard.
pub mod dashboard;
pub mod graphiql;
