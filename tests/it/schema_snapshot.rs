//! schema.graphql at the top level is what the code generates: clients and the contract check
//! read that file, so it must never drift.
#[test]
fn schema_graphql_matches_the_code() {
    let generated = jaminan::graphql::schema::sdl();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap_or_default();
    if generated != committed {
        // What changed, as a unified diff (a client reads the file, so every line matters).
        let diff = similar::TextDiff::from_lines(&committed, &generated);
        let shown = diff.unified_diff().context_radius(3).header("schema.graphql", "the code's schema").to_string();
        panic!(
            "schema.graphql differs from the schema the code builds:\n{shown}\nupdate it with:\n    cargo run -- export-schema > schema.graphql"
        );
    }
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
