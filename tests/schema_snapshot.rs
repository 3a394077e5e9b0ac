//! schema.graphql at the top level is what the code generates: clients and the contract check
//! read that file, so it must never drift.
#[test]
fn schema_graphql_matches_the_code() {
    let generated = jaminan::graphql::schema::sdl();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap_or_default();
    assert!(
        generated == committed,
        "schema.graphql differs from the schema the code builds; update it with:\n    cargo run -- export-schema > schema.graphql"
    );
}
