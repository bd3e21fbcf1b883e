//! `schema.graphql` is what the server serves, and every part of it is documented.
use serde_json::{Value, json};

use crate::support::TestApp;

#[test]
fn schema_file_matches_the_served_schema() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql exists");
    assert!(
        committed == plantrack::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- export-schema`"
    );
}

/// Every type, field, argument, enum value and input field of the served schema, and every
/// directive with its arguments.
const INTROSPECTION: &str = r#"
query Documentation {
  __schema {
    types {
      kind
      name
      description
      fields(includeDeprecated: true) {
        name
        description
        args(includeDeprecated: true) { name description }
      }
      inputFields(includeDeprecated: true) { name description }
      enumValues(includeDeprecated: true) { name description }
    }
    directives {
      name
      description
      args(includeDeprecated: true) { name description }
    }
  }
}"#;

/// Built-in scalars that async-graphql registers without a description, which we cannot
/// give one. (It describes `String`, `Int`, `Float` and `Boolean`, and the built-in
/// directives `include`, `skip`, `deprecated`, `specifiedBy` and `oneOf` with their
/// arguments; those are checked like everything else.)
const UNDESCRIBABLE: &[&str] = &["ID"];

fn described(element: &Value) -> bool {
    element["description"]
        .as_str()
        .is_some_and(|text| !text.trim().is_empty())
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn name(element: &Value) -> &str {
    element["name"].as_str().expect("a named element")
}

/// The elements of an introspected schema that have no description, named as
/// `Type`, `Type.field`, `Type.field(argument)`, `Enum.VALUE`, `Input.field`, `@directive`
/// and `@directive(argument)`.
fn undescribed(schema: &Value) -> Vec<String> {
    let mut missing = Vec::new();
    for ty in list(&schema["types"]) {
        let type_name = name(ty);
        if type_name.starts_with("__") {
            continue;
        }
        if !described(ty) && !UNDESCRIBABLE.contains(&type_name) {
            missing.push(type_name.to_owned());
        }
        for field in list(&ty["fields"]) {
            if !described(field) {
                missing.push(format!("{type_name}.{}", name(field)));
            }
            for arg in list(&field["args"]) {
                if !described(arg) {
                    missing.push(format!("{type_name}.{}({})", name(field), name(arg)));
                }
            }
        }
        for element in list(&ty["inputFields"])
            .iter()
            .chain(list(&ty["enumValues"]))
        {
            if !described(element) {
                missing.push(format!("{type_name}.{}", name(element)));
            }
        }
    }
    for directive in list(&schema["directives"]) {
        if !described(directive) {
            missing.push(format!("@{}", name(directive)));
        }
        for arg in list(&directive["args"]) {
            if !described(arg) {
                missing.push(format!("@{}({})", name(directive), name(arg)));
            }
        }
    }
    missing
}

/// GraphiQL's docs are what frontend teams and analysts read: nothing in the schema may
/// go without a description.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_element_of_the_schema_is_described() {
    let app = TestApp::sqlite().await;
    let reply = app.graphql(INTROSPECTION, json!({})).await;
    let schema = &reply.data()["__schema"];
    assert!(
        list(&schema["types"]).len() > 50,
        "introspection answered: {schema}"
    );
    let missing = undescribed(schema);
    assert!(
        missing.is_empty(),
        "{} elements of the schema have no description (write a `///` doc comment, or \
         `#[graphql(desc = \"…\")]` for an argument):\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}

/// The check names what it finds as the failure message promises.
#[test]
fn undescribed_elements_are_named() {
    let schema = json!({
        "types": [
            { "kind": "OBJECT", "name": "Query", "description": "The root.", "fields": [
                { "name": "tasks", "description": "Tasks.", "args": [
                    { "name": "first", "description": null },
                    { "name": "after", "description": "Cursor." }
                ] },
                { "name": "me", "description": " ", "args": [] }
            ] },
            { "kind": "ENUM", "name": "Kind", "description": null,
              "enumValues": [{ "name": "A", "description": "" }] },
            { "kind": "INPUT_OBJECT", "name": "Filter", "description": "Narrows.",
              "inputFields": [{ "name": "name", "description": null }] },
            { "kind": "SCALAR", "name": "ID", "description": null },
            { "kind": "OBJECT", "name": "__Type", "description": null, "fields": [] }
        ],
        "directives": [
            { "name": "custom", "description": null, "args": [{ "name": "x", "description": null }] }
        ]
    });
    assert_eq!(
        undescribed(&schema),
        [
            "Query.tasks(first)",
            "Query.me",
            "Kind",
            "Kind.A",
            "Filter.name",
            "@custom",
            "@custom(x)"
        ]
    );
}
