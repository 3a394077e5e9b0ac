//! The server's own HTML pages: GraphiQL, the reference dashboard and the operators' import page.
pub mod dashboard;
pub mod graphiql;
pub mod import;
pub mod signin;
