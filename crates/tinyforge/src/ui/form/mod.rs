//! HTML forms generated from a kind's JSON Schema (U1), and the way back: submitted fields to the
//! JSON config. Types, enums, tagged unions, required fields, defaults, nested objects and arrays
//! are understood (`schema.rs`); anything else gets a JSON text area for its subtree. Field names
//! are dotted paths under a namespace (`cfg.faces.0.port`), the same paths API errors name
//! (`source_config.faces[0].port`). `render.rs` draws, `parse.rs` reads back.

mod parse;
mod render;
mod schema;

use std::collections::HashMap;

pub use parse::{fields, parse};
pub use render::{render, render_overrides};

/// What a redacted secret looks like in answers (see `tinyforge_control::redact_config`).
const REDACTED: &str = "********";

/// Field errors by field name (`cfg.faces.0.port`).
pub type Errors = HashMap<String, String>;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Errors as the summary at the top of a form lists them: (input id, field name, message).
pub fn summary(errors: &Errors) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = errors.iter().map(|(k, m)| (schema::id_of(k), k.clone(), m.clone())).collect();
    v.sort();
    v
}

/// An API error's field (`source_config.faces[0].port`) as a form field name under `ns`.
pub fn field_name(api_field: &str, api_prefix: &str, ns: &str) -> String {
    let rest = api_field.strip_prefix(api_prefix).map(|r| format!("{ns}{r}"));
    rest.unwrap_or_else(|| api_field.to_owned()).replace('[', ".").replace(']', "")
}

#[cfg(test)]
mod tests {
    use super::schema::id_of;
    use super::*;
    use serde_json::Value;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "$defs": {
                "Face": {"type": "object", "properties": {
                    "host": {"type": "string", "description": "Host"},
                    "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                    "tls": {"type": "boolean", "default": false}
                }, "required": ["host", "port"]},
                "Auth": {"type": "object", "properties": {
                    "username": {"type": "string"},
                    "password": {"type": "string", "writeOnly": true}
                }, "required": ["username", "password"]},
                "Pull": {"oneOf": [{"const": "missing", "type": "string"}, {"const": "always", "type": "string"}]}
            },
            "type": "object",
            "properties": {
                "image": {"type": "string", "description": "The `image`."},
                "faces": {"type": "array", "items": {"$ref": "#/$defs/Face"}},
                "command": {"type": ["array", "null"], "items": {"type": "string"}},
                "auth": {"anyOf": [{"$ref": "#/$defs/Auth"}, {"type": "null"}]},
                "pull": {"$ref": "#/$defs/Pull", "default": "missing"},
                "tags": {"oneOf": [
                    {"type": "object", "properties": {"policy": {"const": "any"}}},
                    {"type": "object", "properties": {"policy": {"const": "glob"}, "pattern": {"type": "string"}}},
                    {"type": "object", "properties": {"policy": {"const": "exact"}, "tag": {"type": "string"}}}
                ]},
                "labels": {"type": "object"}
            },
            "required": ["image", "faces"]
        })
    }

    fn submit(pairs: &[(&str, &str)], prev: Option<&Value>) -> Result<Value, Errors> {
        let owned: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse(&schema(), "cfg", &fields(&owned), prev).map_err(|(_, e)| e)
    }

    /// U1: every property gets a labelled input named by its path; items get one blank row.
    #[test]
    fn renders_labelled_inputs_for_every_field() {
        let html = render(
            &schema(),
            "cfg",
            Some(&json!({"image": "a<b", "faces": [{"host": "x", "port": 80}]})),
            &Errors::new(),
        );
        for name in [
            "cfg.image",
            "cfg.faces.0.host",
            "cfg.faces.0.port",
            "cfg.faces.1.host",
            "cfg.command",
            "cfg.auth.password",
            "cfg.pull",
            "cfg.tags.policy",
            "cfg.tags.pattern",
            "cfg.tags.tag",
            "cfg.labels",
        ] {
            let id = id_of(name);
            assert!(html.contains(&format!(r#"name="{name}""#)), "{name} missing");
            assert!(html.contains(&format!(r#"<label for="{id}">"#)), "{name} has no label");
        }
        assert!(html.contains(r#"value="a&lt;b""#), "values are escaped");
        assert!(html.contains("<code>image</code>"), "descriptions become help");
        assert!(html.contains(r#"type="password""#));
        assert!(html.contains(r#"min="0" max="65535""#));
        assert!(!html.contains("cfg.faces.2"), "one blank item, not two");
    }

    /// Submitted fields come back as the config: numbers typed, empty rows and objects dropped.
    #[test]
    fn parses_fields_back_to_config() {
        let v = submit(
            &[
                ("cfg.image", "registry/app"),
                ("cfg.faces.0.host", "a.test"),
                ("cfg.faces.0.port", "8080"),
                ("cfg.faces.0.tls", "true"),
                ("cfg.faces.1.host", ""),
                ("cfg.faces.1.port", ""),
                ("cfg.command", "serve\n --port\n\n"),
                ("cfg.auth.username", ""),
                ("cfg.auth.password", ""),
                ("cfg.pull", "always"),
                ("cfg.tags.policy", "glob"),
                ("cfg.tags.pattern", "v1.*"),
                ("cfg.tags.tag", "ignored: not a glob field"),
                ("cfg.labels", r#"{"team": "web"}"#),
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"image": "registry/app", "faces": [{"host": "a.test", "port": 8080, "tls": true}],
                   "command": ["serve", "--port"], "pull": "always", "tags": {"policy": "glob", "pattern": "v1.*"},
                   "labels": {"team": "web"}})
        );
    }

    /// Unreadable numbers and JSON are field errors; an empty secret keeps the stored one.
    #[test]
    fn bad_fields_are_named_and_secrets_are_kept() {
        let e =
            submit(&[("cfg.faces.0.port", "eighty"), ("cfg.labels", "{"), ("cfg.tags.policy", "nope")], None)
                .unwrap_err();
        assert_eq!(e["cfg.faces.0.port"], "enter a whole number");
        assert!(e["cfg.labels"].starts_with("not valid JSON"));
        assert!(e["cfg.tags.policy"].contains("not one of the choices"));
        let prev = json!({"auth": {"username": "u", "password": REDACTED}});
        let v =
            submit(&[("cfg.image", "x"), ("cfg.auth.username", "u"), ("cfg.auth.password", "")], Some(&prev))
                .unwrap();
        assert_eq!(v["auth"]["password"], REDACTED);
    }

    /// Bad input loses nothing: the form shown again holds what was typed, beside its error.
    #[test]
    fn a_form_shown_again_keeps_what_was_typed() {
        let owned: Vec<(String, String)> = [
            ("cfg.image", "app"),
            ("cfg.faces.0.host", "a.test"),
            ("cfg.faces.0.port", "eighty"),
            ("cfg.labels", "{oops"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let (partial, errors) = parse(&schema(), "cfg", &fields(&owned), None).unwrap_err();
        let html = render(&schema(), "cfg", Some(&partial), &errors);
        assert!(html.contains(r#"value="app""#) && html.contains(r#"value="a.test""#));
        assert!(html.contains(r#"value="eighty""#) && html.contains(">{oops</textarea>"));
        assert!(html.contains(r#"aria-invalid="true""#) && html.contains("enter a whole number"));
    }

    #[test]
    fn api_fields_map_to_form_names() {
        assert_eq!(field_name("source_config.faces[0].port", "source_config", "cfg"), "cfg.faces.0.port");
        assert_eq!(field_name("name", "source_config", "cfg"), "name");
    }
}
