//! The command line (moved here from main.rs next).
