//! Drawing a form: labelled inputs with help, defaults, errors and ARIA links.

use std::fmt::Write;

use serde_json::Value;

use super::schema::{Node, Shape, help, id_of, label_of, properties, scalar_text, unset};
use super::{Errors, REDACTED, esc};

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
