//! The conformance kit every kind passes (call it from the kind's crate tests): kinds unique,
//! schema structurally valid and documented, sample valid, a broken sample refused naming the
//! broken field.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::schema::check_schema;
use crate::{ConfigError, RegistryBuilder, Source, Trigger};

/// Breaks `sample` at one field the schema declares (the first required one, else the first one)
/// by giving it a value of the wrong type. Returns the broken sample and the field's name.
fn break_sample(schema: &Value, sample: &Value) -> (Value, String) {
    let props = schema.get("properties").and_then(Value::as_object);
    let required = schema.get("required").and_then(Value::as_array);
    let field = required
        .and_then(|r| r.first())
        .and_then(Value::as_str)
        .or_else(|| props.and_then(|p| p.keys().next()).map(String::as_str));
    let Some(field) = field else {
        return (json!(["not", "an", "object"]), String::new());
    };
    let is_string = props
        .and_then(|p| p.get(field))
        .and_then(|f| f.get("type"))
        .is_some_and(|t| t == "string" || t.as_array().is_some_and(|a| a.contains(&json!("string"))));
    let wrong = if is_string { json!(12345) } else { json!("not-a-valid-value") };
    let mut broken = sample.clone();
    broken.as_object_mut().expect("a sample config is a JSON object").insert(field.to_owned(), wrong);
    (broken, field.to_owned())
}

fn assert_kind(
    kind: &str,
    schema: &Value,
    sample: &Value,
    validate: impl Fn(&Value) -> Result<(), ConfigError>,
) {
    if let Err(problems) = check_schema(schema) {
        panic!("kind `{kind}`: schema problems:\n  {}", problems.join("\n  "));
    }
    if let Err(e) = validate(sample) {
        panic!("kind `{kind}`: its own sample is refused: {e}");
    }
    let (broken, field) = break_sample(schema, sample);
    match validate(&broken) {
        Ok(()) => panic!("kind `{kind}`: a sample with `{field}` broken was accepted"),
        Err(e) => assert!(
            e.field == field
                || e.field.starts_with(&format!("{field}."))
                || e.field.starts_with(&format!("{field}[")),
            "kind `{kind}`: broken `{field}` reported at `{}` ({})",
            e.field,
            e.message
        ),
    }
}

/// Asserts every source in `kinds` (a crate's builtin list) conforms and no kind repeats.
pub fn assert_source_conformance(kinds: Vec<Arc<dyn Source>>) {
    let mut b = RegistryBuilder::new();
    for s in &kinds {
        b = b.source_dyn(s.clone());
    }
    if let Err(e) = b.build() {
        panic!("{e}");
    }
    for s in kinds {
        assert_kind(s.kind(), &s.schema(), &s.sample(), |v| s.validate(v));
    }
}

/// Asserts every trigger in `kinds` (a crate's builtin list) conforms and no kind repeats.
pub fn assert_trigger_conformance(kinds: Vec<Arc<dyn Trigger>>) {
    let mut b = RegistryBuilder::new();
    for t in &kinds {
        b = b.trigger_dyn(t.clone());
    }
    if let Err(e) = b.build() {
        panic!("{e}");
    }
    for t in kinds {
        assert_kind(t.kind(), &t.schema(), &t.sample(), |v| t.validate(v));
    }
}
