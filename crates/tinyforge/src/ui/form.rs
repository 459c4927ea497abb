//! HTML forms generated from a kind's JSON Schema (U1), and the way back: submitted fields to the
//! JSON config. Types, enums, required fields, defaults, nested objects and arrays are understood;
//! anything else gets a JSON text area for its subtree. Field names are dotted paths under a
//! namespace (`cfg.faces.0.port`), the same paths API errors name (`source_config.faces[0].port`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use serde_json::{Map, Value};

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

/// An API error's field (`source_config.faces[0].port`) as a form field name under `ns`.
pub fn field_name(api_field: &str, api_prefix: &str, ns: &str) -> String {
    let rest = api_field.strip_prefix(api_prefix).map(|r| format!("{ns}{r}"));
    rest.unwrap_or_else(|| api_field.to_owned()).replace('[', ".").replace(']', "")
}

/// A schema node with its `$ref` and nullability resolved.
struct Node<'a> {
    schema: &'a Value,
    outer: &'a Value,
    nullable: bool,
}

impl<'a> Node<'a> {
    fn new(root: &'a Value, s: &'a Value) -> Self {
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

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.outer.get(key).or_else(|| self.schema.get(key))
    }

    fn ty(&self) -> Option<&'a str> {
        match self.schema.get("type") {
            Some(Value::String(t)) => Some(t),
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
            _ => None,
        }
    }

    fn shape(&self, root: &'a Value) -> Shape<'a> {
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

enum Shape<'a> {
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
struct Variants<'a> {
    tag: &'a str,
    list: Vec<(&'a Value, Value, Option<&'a str>)>,
}

impl<'a> Variants<'a> {
    /// The other fields, each with the tag values of the variants that have it.
    fn fields(&self) -> Vec<(&'a str, &'a Value, Vec<String>)> {
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
fn properties(s: &Value) -> Vec<(&str, &Value, bool)> {
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

fn label_of(key: &str) -> String {
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

fn id_of(name: &str) -> String {
    format!("f-{}", name.replace('.', "-"))
}

/// Description as help text: escaped, with `code` spans.
fn help(text: &str) -> String {
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
fn unset(default: Option<String>) -> String {
    default.map_or_else(|| "(not set)".to_owned(), |d| format!("(default: {d})"))
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Renders the form for `schema` under the namespace `ns`, filled with `value`.
pub fn render(schema: &Value, ns: &str, value: Option<&Value>, errors: &Errors) -> String {
    let mut out = String::new();
    Renderer { root: schema, errors, out: &mut out }.fields(schema, ns, value, true);
    out
}

/// Renders an empty form whose every field is optional: an override of a config (a binding's
/// config over its trigger's, C7) where only the fields filled in count.
pub fn render_overrides(schema: &Value, ns: &str, errors: &Errors) -> String {
    let mut out = String::new();
    Renderer { root: schema, errors, out: &mut out }.fields(schema, ns, None, false);
    out
}

struct Renderer<'a, 'o> {
    root: &'a Value,
    errors: &'a Errors,
    out: &'o mut String,
}

impl<'a> Renderer<'a, '_> {
    fn error(&mut self, name: &str) -> bool {
        if let Some(e) = self.errors.get(name) {
            let _ =
                write!(self.out, r#"<p class="error" id="{}-err" role="alert">{}</p>"#, id_of(name), esc(e));
            true
        } else {
            false
        }
    }

    /// The properties of an object schema.
    fn fields(&mut self, s: &'a Value, path: &str, value: Option<&Value>, top: bool) {
        for (key, prop, required) in properties(s) {
            let name = format!("{path}.{key}");
            self.node(prop, &name, &label_of(key), value.and_then(|v| v.get(key)), required && top);
        }
    }

    fn node(&mut self, s: &'a Value, name: &str, label: &str, value: Option<&Value>, required: bool) {
        let node = Node::new(self.root, s);
        let id = id_of(name);
        let desc = node.get("description").and_then(Value::as_str).unwrap_or_default();
        let default =
            node.get("default").filter(|d| !d.is_object() && d.as_array().is_none_or(|a| !a.is_empty()));
        let mut helptext = help(desc);
        if let Some(d) = default {
            let _ = write!(helptext, " Default: <code>{}</code>.", esc(&scalar_text(d)));
        }
        let shape = node.shape(self.root);
        if let Shape::Object | Shape::Items(_) | Shape::Variants(_) = shape {
            let optional = if node.nullable {
                " <span class=\"opt\">(optional: leave empty to omit)</span>"
            } else {
                ""
            };
            let _ = write!(
                self.out,
                r#"<fieldset id="{id}"><legend>{}{optional}</legend><p class="help">{helptext}</p>"#,
                esc(label)
            );
            self.error(name);
            if let Shape::Variants(v) = &shape {
                let current = value.and_then(|x| x.get(v.tag)).map(scalar_text).unwrap_or_default();
                let tag_name = format!("{name}.{}", v.tag);
                let tag_id = id_of(&tag_name);
                let _ = write!(
                    self.out,
                    r#"<div class="field"><label for="{tag_id}">{}</label>"#,
                    esc(&label_of(v.tag))
                );
                let mut opts = vec![(
                    String::new(),
                    unset(node.get("default").and_then(|d| d.get(v.tag)).map(scalar_text)),
                )];
                for (_, c, d) in &v.list {
                    let c = scalar_text(c);
                    opts.push((c.clone(), d.map_or_else(|| c.clone(), |d| format!("{c} — {d}"))));
                }
                self.select(&tag_id, &esc(&tag_name), "", &current, opts.into_iter());
                self.error(&tag_name);
                self.out.push_str("</div>");
                for (k, p, used) in v.fields() {
                    let l = format!("{} (for {})", label_of(k), used.join(", "));
                    self.node(p, &format!("{name}.{k}"), &l, value.and_then(|x| x.get(k)), false);
                }
            } else if let Shape::Items(item) = shape {
                let items = value.and_then(Value::as_array).cloned().unwrap_or_default();
                let item_label = label.strip_suffix('s').unwrap_or(label);
                for i in 0..=items.len() {
                    let blank = if i == items.len() {
                        " <span class=\"opt\">(new: leave empty to skip)</span>"
                    } else {
                        ""
                    };
                    let item_name = format!("{name}.{i}");
                    let _ = write!(
                        self.out,
                        r#"<fieldset class="item" id="{}"><legend>{} {}{blank}</legend>"#,
                        id_of(&item_name),
                        esc(item_label),
                        i + 1
                    );
                    self.error(&item_name);
                    let item_node = Node::new(self.root, item);
                    self.fields(item_node.schema, &item_name, items.get(i), false);
                    self.out.push_str("</fieldset>");
                }
                let _ = write!(
                    self.out,
                    r#"<button type="submit" name="_add" value="{}" formnovalidate class="secondary">Add another {}</button>"#,
                    esc(name),
                    esc(&item_label.to_lowercase())
                );
            } else {
                self.fields(node.schema, name, value, false);
            }
            self.out.push_str("</fieldset>");
            return;
        }
        let req = if required { r#" required aria-required="true""# } else { "" };
        let star = if required { r#" <span class="req" aria-hidden="true">*</span>"# } else { "" };
        let _ = write!(self.out, r#"<div class="field"><label for="{id}">{}{star}</label>"#, esc(label));
        let invalid = if self.errors.contains_key(name) { r#" aria-invalid="true""# } else { "" };
        let err_ref = if invalid.is_empty() { String::new() } else { format!(" {id}-err") };
        let aria = format!(r#" aria-describedby="{id}-help{err_ref}"{invalid}"#);
        let current = value.map(scalar_text).unwrap_or_default();
        let ph = default.map(|d| format!(r#" placeholder="{}""#, esc(&scalar_text(d)))).unwrap_or_default();
        let n = esc(name);
        match shape {
            Shape::Text { secret: true, .. } => {
                let kept =
                    if current == REDACTED { r#" placeholder="stored — leave empty to keep""# } else { "" };
                let _ = write!(
                    self.out,
                    r#"<input type="password" id="{id}" name="{n}" autocomplete="new-password"{kept}{aria}>"#
                );
            }
            Shape::Text { multiline: true, .. } => {
                let _ = write!(
                    self.out,
                    r#"<textarea id="{id}" name="{n}" rows="10" spellcheck="false"{req}{aria}>{}</textarea>"#,
                    esc(&current)
                );
            }
            Shape::Text { .. } => {
                let _ = write!(
                    self.out,
                    r#"<input type="text" id="{id}" name="{n}" value="{}"{ph}{req}{aria}>"#,
                    esc(&current)
                );
            }
            Shape::Integer | Shape::Number => {
                let step = if matches!(shape, Shape::Integer) { "1" } else { "any" };
                let mut attrs = String::new();
                for k in ["minimum", "maximum"] {
                    if let Some(v) = node.schema.get(k) {
                        let _ = write!(attrs, r#" {}="{v}""#, &k[..3]);
                    }
                }
                let _ = write!(
                    self.out,
                    r#"<input type="number" inputmode="numeric" step="{step}" id="{id}" name="{n}" value="{}"{attrs}{ph}{req}{aria}>"#,
                    esc(&current)
                );
            }
            Shape::Bool => {
                let opts = [
                    (
                        "",
                        unset(default.map(|d| if d == &Value::Bool(true) { "yes" } else { "no" }.to_owned())),
                    ),
                    ("true", "Yes".into()),
                    ("false", "No".into()),
                ];
                self.select(&id, &n, &aria, &current, opts.iter().map(|(v, l)| (v.to_string(), l.clone())));
            }
            Shape::Choice(choices) => {
                let mut opts = Vec::new();
                if !required {
                    opts.push((String::new(), unset(default.map(scalar_text))));
                }
                for (v, d) in &choices {
                    let v = scalar_text(v);
                    let l = d.as_ref().map_or_else(|| v.clone(), |d| format!("{v} — {d}"));
                    opts.push((v, l));
                }
                self.select(&id, &n, &aria, &current, opts.into_iter());
            }
            Shape::Lines { .. } => {
                let text = value
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(scalar_text).collect::<Vec<_>>().join("\n"))
                    .unwrap_or_default();
                let _ = write!(
                    self.out,
                    r#"<textarea id="{id}" name="{n}" rows="3" spellcheck="false"{aria}>{}</textarea>"#,
                    esc(&text)
                );
                helptext.push_str(" One per line.");
            }
            Shape::Json | Shape::Object | Shape::Items(_) | Shape::Variants(_) => {
                let text = match value {
                    // Text that was not JSON, shown again as typed.
                    Some(Value::String(typed)) if self.errors.contains_key(name) => typed.clone(),
                    Some(v) if !v.is_null() => serde_json::to_string_pretty(v).unwrap_or_default(),
                    _ => String::new(),
                };
                let _ = write!(
                    self.out,
                    r#"<textarea id="{id}" name="{n}" rows="4" spellcheck="false" class="mono"{aria}>{}</textarea>"#,
                    esc(&text)
                );
                helptext.push_str(" As JSON.");
            }
        }
        let _ = write!(self.out, r#"<p class="help" id="{id}-help">{helptext}</p>"#);
        self.error(name);
        self.out.push_str("</div>");
    }

    fn select(
        &mut self,
        id: &str,
        name: &str,
        aria: &str,
        current: &str,
        opts: impl Iterator<Item = (String, String)>,
    ) {
        let _ = write!(self.out, r#"<select id="{id}" name="{name}"{aria}>"#);
        for (v, l) in opts {
            let sel = if v == current { " selected" } else { "" };
            let _ = write!(self.out, r#"<option value="{}"{sel}>{}</option>"#, esc(&v), esc(&l));
        }
        self.out.push_str("</select>");
    }
}

/// Submitted fields by name (a name given twice keeps the last value).
pub fn fields(pairs: &[(String, String)]) -> BTreeMap<&str, &str> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The config the submitted `fields` under `ns` describe. `Err` names the fields that could not
/// be read, with the config as far as it was read (an unreadable field keeps its text, so the
/// form shown again loses nothing). `previous` (the redacted stored config) lets an empty secret
/// field keep its stored value.
pub fn parse(
    schema: &Value,
    ns: &str,
    fields: &BTreeMap<&str, &str>,
    previous: Option<&Value>,
) -> Result<Value, (Value, Errors)> {
    let mut p = Parser { root: schema, fields, errors: Errors::new() };
    let v = p.object(schema, ns, previous).unwrap_or_else(|| Value::Object(Map::new()));
    if p.errors.is_empty() { Ok(v) } else { Err((v, p.errors)) }
}

struct Parser<'a, 'f> {
    root: &'a Value,
    fields: &'f BTreeMap<&'f str, &'f str>,
    errors: Errors,
}

impl<'a> Parser<'a, '_> {
    fn object(&mut self, s: &'a Value, path: &str, prev: Option<&Value>) -> Option<Value> {
        let mut m = Map::new();
        for (key, prop, _) in properties(s) {
            let name = format!("{path}.{key}");
            if let Some(v) = self.node(prop, &name, prev.and_then(|p| p.get(key))) {
                m.insert(key.to_owned(), v);
            }
        }
        (!m.is_empty()).then_some(Value::Object(m))
    }

    fn node(&mut self, s: &'a Value, name: &str, prev: Option<&Value>) -> Option<Value> {
        let node = Node::new(self.root, s);
        let raw = self.fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        match node.shape(self.root) {
            Shape::Object => self.object(node.schema, name, prev),
            Shape::Variants(v) => {
                let chosen = self
                    .fields
                    .get(format!("{name}.{}", v.tag).as_str())
                    .map(|t| t.trim())
                    .filter(|t| !t.is_empty())?;
                let Some((schema, tag_value, _)) = v.list.iter().find(|(_, c, _)| scalar_text(c) == chosen)
                else {
                    self.errors
                        .insert(format!("{name}.{}", v.tag), format!("`{chosen}` is not one of the choices"));
                    return None;
                };
                let mut m = match self.object(schema, name, prev) {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                m.insert(v.tag.to_owned(), tag_value.clone());
                Some(Value::Object(m))
            }
            Shape::Items(item) => {
                let item = Node::new(self.root, item).schema;
                let prefix = format!("{name}.");
                let mut indices: Vec<usize> = self
                    .fields
                    .keys()
                    .filter_map(|k| k.strip_prefix(&prefix)?.split('.').next()?.parse().ok())
                    .collect();
                indices.dedup();
                indices.sort_unstable();
                indices.dedup();
                let items: Vec<Value> = indices
                    .into_iter()
                    .filter_map(|i| self.object(item, &format!("{name}.{i}"), prev.and_then(|p| p.get(i))))
                    .collect();
                (!items.is_empty()).then_some(Value::Array(items))
            }
            Shape::Text { secret: true, .. } => match raw {
                Some(v) => Some(v.into()),
                None => prev.filter(|p| p.as_str() == Some(REDACTED)).cloned(),
            },
            Shape::Text { multiline: true, .. } => {
                self.fields.get(name).filter(|v| !v.trim().is_empty()).map(|v| v.replace("\r\n", "\n").into())
            }
            Shape::Text { .. } => raw.map(Into::into),
            Shape::Integer => raw.and_then(|v| self.number(name, v, true)),
            Shape::Number => raw.and_then(|v| self.number(name, v, false)),
            Shape::Bool => raw.map(|v| Value::Bool(v == "true")),
            Shape::Choice(choices) => raw.map(|v| {
                choices
                    .iter()
                    .map(|(c, _)| c)
                    .find(|c| scalar_text(c) == v)
                    .cloned()
                    .unwrap_or_else(|| v.into())
            }),
            Shape::Lines { numbers } => {
                let lines = raw?.lines().map(str::trim).filter(|l| !l.is_empty());
                let items: Vec<Value> = if numbers {
                    lines.filter_map(|l| self.number(name, l, false)).collect()
                } else {
                    lines.map(Into::into).collect()
                };
                Some(Value::Array(items))
            }
            Shape::Json => match serde_json::from_str(raw?) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.errors.insert(name.to_owned(), format!("not valid JSON: {e}"));
                    raw.map(Into::into)
                }
            },
        }
    }

    fn number(&mut self, name: &str, v: &str, whole: bool) -> Option<Value> {
        let parsed = if whole {
            v.parse::<i64>().ok().map(Value::from)
        } else {
            v.parse::<f64>().ok().and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
        };
        if parsed.is_none() {
            let what = if whole { "a whole number" } else { "a number" };
            self.errors.insert(name.to_owned(), format!("enter {what}"));
        }
        parsed.or_else(|| Some(v.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
