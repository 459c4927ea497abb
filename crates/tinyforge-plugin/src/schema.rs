//! Config schemas (C3, C5): typed parsing that names the bad field, the JSON Schema of a config
//! type, a structural check of such schemas, and the walk over secret fields (`writeOnly`).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::ConfigError;

/// Parses a raw config into `T`; on failure the error names the JSON path of the bad field.
pub fn parse_config<T: DeserializeOwned>(raw: &Value) -> Result<T, ConfigError> {
    if !raw.is_object() {
        return Err(ConfigError::new("", "the config must be a JSON object"));
    }
    serde_path_to_error::deserialize::<_, T>(raw).map_err(|e| {
        let mut field = e.path().to_string();
        if field == "." {
            field.clear();
        }
        let message = e.inner().to_string();
        // serde reports a missing key at its parent: name the key itself.
        if let Some(rest) = message.strip_prefix("missing field `")
            && let Some(name) = rest.split('`').next()
        {
            field = if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") };
        }
        ConfigError::new(field, message)
    })
}

/// The JSON Schema (draft 2020-12) of a config type.
pub fn schema_of<T: JsonSchema>() -> Value {
    schemars::schema_for!(T).to_value()
}

/// A string that is secret: sealed at rest, redacted in answers, plain only inside plugins. Its
/// schema says `writeOnly`, which is how the API and the store find it in any kind's config.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(pub String);

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(****)")
    }
}

impl JsonSchema for SecretString {
    fn schema_name() -> Cow<'static, str> {
        "SecretString".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "writeOnly": true, "format": "password" })
    }
}

/// Calls `f` on every string in `value` that the schema marks `writeOnly` (a secret).
pub fn for_each_secret(schema: &Value, value: &mut Value, f: &mut dyn FnMut(&mut String)) {
    walk(schema, schema, value, f, 0);
}

fn walk(root: &Value, node: &Value, value: &mut Value, f: &mut dyn FnMut(&mut String), depth: u32) {
    if depth > 32 {
        return;
    }
    if let Some(r) = node.get("$ref").and_then(Value::as_str)
        && let Some(target) = r.strip_prefix('#').and_then(|p| root.pointer(p))
    {
        walk(root, target, value, f, depth + 1);
    }
    if node.get("writeOnly") == Some(&Value::Bool(true))
        && let Value::String(s) = value
    {
        f(s);
        return;
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        for alt in node.get(key).and_then(Value::as_array).into_iter().flatten() {
            walk(root, alt, value, f, depth + 1);
        }
    }
    match value {
        Value::Object(map) => {
            if let Some(props) = node.get("properties").and_then(Value::as_object) {
                for (k, sub) in props {
                    if let Some(v) = map.get_mut(k) {
                        walk(root, sub, v, f, depth + 1);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = node.get("items") {
                for v in items {
                    walk(root, sub, v, f, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// Structural check of a config schema: draft 2020-12, an object at the root, every `$ref`
/// resolvable, every `required` key declared, every property documented (its `///` text is the
/// UI's help). Returns every problem found.
pub fn check_schema(schema: &Value) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    match schema.get("$schema").and_then(Value::as_str) {
        Some(s) if s.starts_with("https://json-schema.org/") => {}
        _ => problems.push("root: `$schema` must name a json-schema.org draft".to_owned()),
    }
    if schema.get("type") != Some(&Value::String("object".into())) {
        problems.push("root: `type` must be \"object\"".to_owned());
    }
    check_node(schema, schema, "#", &mut problems);
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

const TYPES: [&str; 7] = ["object", "array", "string", "number", "integer", "boolean", "null"];

fn check_node(root: &Value, node: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(obj) = node.as_object() else {
        if !node.is_boolean() {
            problems.push(format!("{at}: a schema must be an object or a boolean"));
        }
        return;
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str)
        && r.strip_prefix('#').and_then(|p| root.pointer(p)).is_none()
    {
        problems.push(format!("{at}: `$ref` {r} does not resolve"));
    }
    match obj.get("type") {
        None => {}
        Some(Value::String(t)) if TYPES.contains(&t.as_str()) => {}
        Some(Value::Array(ts)) if ts.iter().all(|t| t.as_str().is_some_and(|t| TYPES.contains(&t))) => {}
        Some(other) => problems.push(format!("{at}: unknown `type` {other}")),
    }
    let props = obj.get("properties").and_then(Value::as_object);
    for req in obj.get("required").and_then(Value::as_array).into_iter().flatten() {
        if !req.as_str().is_some_and(|k| props.is_some_and(|p| p.contains_key(k))) {
            problems.push(format!("{at}: required key {req} is not among `properties`"));
        }
    }
    for (k, sub) in props.into_iter().flatten() {
        let here = format!("{at}/properties/{k}");
        // A tag discriminator (`const`) is documented by its variant's own description.
        let is_tag = sub.get("const").is_some();
        if !is_tag && sub.get("description").and_then(Value::as_str).is_none_or(str::is_empty) {
            problems.push(format!("{here}: undocumented field (add a `///` comment)"));
        }
        check_node(root, sub, &here, problems);
    }
    for (k, sub) in obj.get("$defs").and_then(Value::as_object).into_iter().flatten() {
        check_node(root, sub, &format!("{at}/$defs/{k}"), problems);
    }
    if let Some(items) = obj.get("items") {
        check_node(root, items, &format!("{at}/items"), problems);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        for (i, alt) in obj.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
            check_node(root, alt, &format!("{at}/{key}/{i}"), problems);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A test-only config.
    #[derive(Debug, Deserialize, Serialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        /// The image.
        image: String,
        /// Faces.
        faces: Vec<Face>,
        /// Password.
        #[serde(default)]
        password: Option<SecretString>,
    }
    /// A face.
    #[derive(Debug, Deserialize, Serialize, JsonSchema)]
    struct Face {
        /// Port.
        port: u16,
        /// Token.
        token: SecretString,
    }

    #[test]
    fn bad_field_is_named_by_path() {
        let e = parse_config::<Cfg>(&json!({"image": "x", "faces": [{"port": "eighty", "token": "t"}]}))
            .unwrap_err();
        assert_eq!(e.field, "faces[0].port");
        let e = parse_config::<Cfg>(&json!({"faces": []})).unwrap_err();
        assert_eq!(e.field, "image");
        let e = parse_config::<Cfg>(&json!({"image": "x", "faces": [], "imgae": 1})).unwrap_err();
        assert_eq!(e.field, "imgae");
        let e = parse_config::<Cfg>(&json!({"image": "x", "faces": [{"port": 1}]})).unwrap_err();
        assert_eq!(e.field, "faces[0].token");
        let e = parse_config::<Cfg>(&json!([1])).unwrap_err();
        assert_eq!(e.field, "");
    }

    #[test]
    fn schema_is_checked_and_secrets_found() {
        let s = schema_of::<Cfg>();
        check_schema(&s).unwrap();
        let mut v = json!({"image": "x", "password": "p1", "faces": [{"port": 1, "token": "t1"}, {"port": 2, "token": "t2"}]});
        let mut seen = vec![];
        for_each_secret(&s, &mut v, &mut |x| {
            seen.push(x.clone());
            *x = "sealed".into();
        });
        seen.sort();
        assert_eq!(seen, ["p1", "t1", "t2"]);
        assert_eq!(v["faces"][1]["token"], "sealed");
        assert_eq!(v["image"], "x");
    }

    #[test]
    fn schema_problems_are_reported() {
        let bad = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "required": ["a", "b"], "properties": {"a": {"type": "strin"}}});
        let p = check_schema(&bad).unwrap_err();
        assert!(p.iter().any(|m| m.contains("required key \"b\"")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("undocumented")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("unknown `type`")), "{p:?}");
    }
}
