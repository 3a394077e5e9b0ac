//! Data made rather than entered: the demo dataset, the national benchmark seed, and the
//! synthetic names and NIKs both draw from.
pub mod demo;
pub mod seed;
pub(crate) mod synthetic;
