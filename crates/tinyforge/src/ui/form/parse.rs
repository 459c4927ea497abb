//! Reading a submitted form back into a config, typed by the schema.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::schema::{Node, Shape, properties, scalar_text};
use super::{Errors, REDACTED};

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
