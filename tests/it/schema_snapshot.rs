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

/// Clients and the contract name the root types Query, Mutation and Subscription (the structs
/// behind them are named otherwise: LiveSubscription once leaked into the SDL).
#[test]
fn root_types_are_named_as_the_contract_names_them() {
    let sdl = jaminan::graphql::schema::sdl();
    for root in ["type Query {", "type Mutation {", "type Subscription {"] {
        assert!(sdl.contains(root), "{root} missing from the SDL");
    }
}
