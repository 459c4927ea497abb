//! Reading a JSON Schema node: `$ref`, nullability, and the shape of input it asks for.

use std::fmt::Write;

use serde_json::Value;

use super::esc;

/// A schema node with its `$ref` and nullability resolved.
pub(super) struct Node<'a> {
    pub(super) schema: &'a Value,
    pub(super) outer: &'a Value,
    pub(super) nullable: bool,
}

impl<'a> Node<'a> {
    pub(super) fn new(root: &'a Value, s: &'a Value) -> Self {
        let mut nullable = false;
        let mut cur = s;
        if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
            let non_null: Vec<&Value> =
                any.iter().filter(|v| v.get("type") != Some(&"null".into())).collect();
            if non_null.len() == 1 && any.len() == 2 {
                nullable = true;
                cur = non_null[0];
            }
        }
        if let Some(r) = cur.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap_or_default();
            if let Some(t) = root.get("$defs").and_then(|d| d.get(name)) {
                cur = t;
            }
        }
        if cur.get("type").and_then(Value::as_array).is_some_and(|t| t.iter().any(|v| v == "null")) {
            nullable = true;
        }
        Node { schema: cur, outer: s, nullable }
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.outer.get(key).or_else(|| self.schema.get(key))
    }

    pub(super) fn ty(&self) -> Option<&'a str> {
        match self.schema.get("type") {
            Some(Value::String(t)) => Some(t),
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
            _ => None,
        }
    }

    pub(super) fn shape(&self, root: &'a Value) -> Shape<'a> {
        if let Some(choices) = self.choices() {
            return Shape::Choice(choices);
        }
        if let Some(v) = self.variants() {
            return Shape::Variants(v);
        }
        match self.ty() {
            Some("string") => Shape::Text {
                secret: self.schema.get("writeOnly") == Some(&Value::Bool(true))
                    || self.schema.get("format") == Some(&"password".into()),
                multiline: self.get("x-multiline") == Some(&Value::Bool(true)),
            },
            Some("integer") => Shape::Integer,
            Some("number") => Shape::Number,
            Some("boolean") => Shape::Bool,
            Some("object") if self.schema.get("properties").is_some_and(Value::is_object) => Shape::Object,
            Some("array") => {
                let Some(items) = self.schema.get("items") else { return Shape::Json };
                let item = Node::new(root, items);
                match item.shape(root) {
                    Shape::Text { .. } => Shape::Lines { numbers: false },
                    Shape::Integer | Shape::Number => Shape::Lines { numbers: true },
                    Shape::Object => Shape::Items(items),
                    _ => Shape::Json,
                }
            }
            _ => Shape::Json,
        }
    }

    fn variants(&self) -> Option<Variants<'a>> {
        let one = self.schema.get("oneOf")?.as_array()?;
        let first = one.first()?.get("properties")?.as_object()?;
        let tag = first.iter().find(|(_, p)| p.get("const").is_some())?.0.as_str();
        let list = one
            .iter()
            .map(|v| {
                let c = v.get("properties")?.get(tag)?.get("const")?.clone();
                Some((v, c, v.get("description").and_then(Value::as_str)))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Variants { tag, list })
    }

    fn choices(&self) -> Option<Vec<(Value, Option<String>)>> {
        if let Some(c) = self.schema.get("const") {
            return Some(vec![(c.clone(), None)]);
        }
        if let Some(e) = self.schema.get("enum").and_then(Value::as_array) {
            return Some(e.iter().filter(|v| !v.is_null()).map(|v| (v.clone(), None)).collect());
        }
        let one = self.schema.get("oneOf")?.as_array()?;
        one.iter()
            .map(|v| {
                let c = v.get("const")?.clone();
                Some((c, v.get("description").and_then(Value::as_str).map(str::to_owned)))
            })
            .collect()
    }
}

pub(super) enum Shape<'a> {
    Text {
        secret: bool,
        multiline: bool,
    },
    Integer,
    Number,
    Bool,
    Choice(Vec<(Value, Option<String>)>),
    Object,
    /// An array of scalars: one per line.
    Lines {
        numbers: bool,
    },
    /// An array of objects: one fieldset per item, plus a blank one.
    Items(&'a Value),
    /// A tagged union (`oneOf` objects told apart by a `const` property): a choice of the tag
    /// plus every variant's other fields.
    Variants(Variants<'a>),
    Json,
}

/// A tagged union's tag property and its variants: (schema, tag value, description).
pub(super) struct Variants<'a> {
    pub(super) tag: &'a str,
    pub(super) list: Vec<(&'a Value, Value, Option<&'a str>)>,
}

impl<'a> Variants<'a> {
    /// The other fields, each with the tag values of the variants that have it.
    pub(super) fn fields(&self) -> Vec<(&'a str, &'a Value, Vec<String>)> {
        let mut out: Vec<(&str, &Value, Vec<String>)> = Vec::new();
        for (v, tag_value, _) in &self.list {
            for (k, p, _) in properties(v).into_iter().filter(|(k, _, _)| *k != self.tag) {
                match out.iter_mut().find(|(name, _, _)| *name == k) {
                    Some((_, _, used)) => used.push(scalar_text(tag_value)),
                    None => out.push((k, p, vec![scalar_text(tag_value)])),
                }
            }
        }
        out
    }
}

/// Properties in order: required ones as declared, then the rest by name.
pub(super) fn properties(s: &Value) -> Vec<(&str, &Value, bool)> {
    let Some(props) = s.get("properties").and_then(Value::as_object) else { return Vec::new() };
    let required: Vec<&str> =
        s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let mut out: Vec<(&str, &Value, bool)> =
        required.iter().filter_map(|k| props.get_key_value(*k)).map(|(k, v)| (k.as_str(), v, true)).collect();
    out.extend(
        props.iter().filter(|(k, _)| !required.contains(&k.as_str())).map(|(k, v)| (k.as_str(), v, false)),
    );
    out
}

pub(super) fn label_of(key: &str) -> String {
    let words: Vec<&str> = key
        .split('_')
        .map(|w| match w {
            "tls" => "TLS",
            "url" => "URL",
            "ip" => "IP",
            "cpus" => "CPUs",
            "mb" => "MB",
            "ms" => "(ms)",
            "secs" => "(s)",
            w => w,
        })
        .collect();
    let words = words.join(" ");
    let mut c = words.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

pub(super) fn id_of(name: &str) -> String {
    format!("f-{}", name.replace('.', "-"))
}

/// Description as help text: escaped, with `code` spans.
pub(super) fn help(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in esc(text).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// The label of an empty choice: what applies when nothing is chosen.
pub(super) fn unset(default: Option<String>) -> String {
    default.map_or_else(|| "(not set)".to_owned(), |d| format!("(default: {d})"))
}

pub(super) fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
