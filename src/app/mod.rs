//! The application: its state, startup and the server that runs it (for `main` and the tests).
pub mod server;
pub mod startup;
mod state;

pub use state::AppState;
