//! `schema.graphql` is what the server serves.
#[test]
fn schema_file_matches_the_served_schema() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql exists");
    assert!(
        committed == plantrack::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- export-schema`"
    );
}
