//! Config merge for webhook fan-out (C7): trigger config + binding override, top-level keys,
//! always a fresh value so concurrent fan-out never shares or mutates its inputs.

use serde_json::{Map, Value};

use crate::Workload;

/// A config that is not a JSON object (or null) cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{which} config must be a JSON object, got {got}")]
pub struct MergeError {
    /// `trigger` or `binding`.
    pub which: &'static str,
    /// The JSON type that was found.
    pub got: &'static str,
}

fn as_object<'a>(v: &'a Value, which: &'static str) -> Result<Option<&'a Map<String, Value>>, MergeError> {
    match v {
        Value::Null => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        other => Err(MergeError { which, got: type_name(other) }),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Merges `binding` over `trigger` at the top level: a key in the binding replaces the trigger's.
/// `null` stands for `{}`. The result is newly allocated; the inputs are untouched.
pub fn merge_config(trigger: &Value, binding: &Value) -> Result<Value, MergeError> {
    let base = as_object(trigger, "trigger")?;
    let over = as_object(binding, "binding")?;
    let mut out = base.cloned().unwrap_or_default();
    for (k, v) in over.into_iter().flatten() {
        out.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(out))
}

/// A copy of `workload` carrying the effective trigger kind and config.
pub fn with_effective_trigger(workload: &Workload, kind: &str, merged: Value) -> Workload {
    Workload { trigger_kind: Some(kind.to_owned()), trigger_config: merged, ..workload.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn arb_obj() -> impl Strategy<Value = Value> {
        prop::collection::btree_map("[a-e]", any::<i64>(), 0..6)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, json!(v))).collect()))
    }

    proptest! {
        /// C7: every binding key wins; every trigger key not overridden survives; inputs unchanged.
        #[test]
        fn binding_keys_win(t in arb_obj(), b in arb_obj()) {
            let (t0, b0) = (t.clone(), b.clone());
            let m = merge_config(&t, &b).unwrap();
            prop_assert_eq!(&t, &t0);
            prop_assert_eq!(&b, &b0);
            let mo = m.as_object().unwrap();
            for (k, v) in b.as_object().unwrap() { prop_assert_eq!(mo.get(k), Some(v)); }
            for (k, v) in t.as_object().unwrap() {
                if !b.as_object().unwrap().contains_key(k) { prop_assert_eq!(mo.get(k), Some(v)); }
            }
            prop_assert_eq!(mo.len(), t.as_object().unwrap().keys().chain(b.as_object().unwrap().keys()).collect::<std::collections::BTreeSet<_>>().len());
        }

        /// C7: the result is its own allocation: changing it never changes the inputs.
        #[test]
        fn result_not_aliased(t in arb_obj(), b in arb_obj()) {
            let mut m = merge_config(&t, &b).unwrap();
            m.as_object_mut().unwrap().insert("zz".into(), json!("changed"));
            prop_assert!(t.get("zz").is_none());
            prop_assert!(b.get("zz").is_none());
        }
    }

    #[test]
    fn non_objects_rejected_clearly() {
        let e = merge_config(&json!([1]), &json!({})).unwrap_err();
        assert_eq!(e.to_string(), "trigger config must be a JSON object, got an array");
        let e = merge_config(&json!({}), &json!("x")).unwrap_err();
        assert_eq!(e.to_string(), "binding config must be a JSON object, got a string");
        assert_eq!(merge_config(&Value::Null, &Value::Null).unwrap(), json!({}));
    }

    #[test]
    fn effective_trigger_is_a_copy() {
        let w = Workload {
            id: "w".into(),
            name: "n".into(),
            source_kind: "image".into(),
            source_config: json!({}),
            trigger_kind: None,
            trigger_config: Value::Null,
            env: vec![],
        };
        let e = with_effective_trigger(&w, "git", json!({"branch": "main"}));
        assert_eq!(e.trigger_config, json!({"branch": "main"}));
        assert_eq!(e.trigger_kind.as_deref(), Some("git"));
        assert_eq!(w.trigger_config, Value::Null);
    }
}
