//! Whether the integration tests run their PostgreSQL variants: where TEST_DATABASE_URL is set,
//! or under CI (which must set it, and fails without it). Elsewhere they are compiled with
//! `#[ignore]` (`jaminan_postgres_tests` unset), so that `cargo test` counts them as ignored
//! rather than as passed. Setting or unsetting either variable rebuilds the crate.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rustc-check-cfg=cfg(jaminan_postgres_tests)");
    if std::env::var_os("TEST_DATABASE_URL").is_some() || std::env::var_os("CI").is_some() {
        println!("cargo::rustc-cfg=jaminan_postgres_tests");
    }
}
