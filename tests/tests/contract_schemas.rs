//! Published contracts are promises to other services (ADR 0015): once a `(type, version)` is
//! released, its schema may only change in ways every existing consumer still accepts.
//!
//! Each schema the code generates is compared with the one committed under
//! `platform/contracts/schemas/`. A compatible change (an optional field added, an
//! explanation reworded) fails until the file is rewritten with `SCHEMAS_WRITE=1`; an
//! incompatible one (a field removed or retyped, a required field added, a new enum value)
//! fails whatever, naming the contract to publish as a new version instead. Every golden
//! stored event is published and its data checked against its schema.

use std::collections::BTreeSet;
use std::path::PathBuf;

use contracts::{envelope_schema, PublishedLanguage};
use runtime::{event_id, ContractSchema, Cursor, EventContracts, FeedEvent};
use serde_json::{Map, Value};

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../platform/contracts/schemas")
}

fn file_name(event_type: &str, version: u32) -> String {
    format!("{event_type}.v{version}.json")
}

fn generated() -> Vec<(String, Value)> {
    let mut all: Vec<(String, Value)> = PublishedLanguage
        .schemas()
        .into_iter()
        .map(|c| (file_name(&c.event_type, c.version), document(&c)))
        .collect();
    all.push(("envelope.json".to_owned(), envelope_schema()));
    all
}

/// What the repository keeps per contract: its identity, description and schema.
fn document(contract: &ContractSchema) -> Value {
    serde_json::to_value(contract).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Compatibility: may a consumer written against `old` read everything `new` allows?

/// Follows a local `$ref` (`#/$defs/Name`) within `root`.
fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            root.pointer(pointer)
                .unwrap_or_else(|| panic!("unresolvable $ref {reference}"))
        }
        None => schema,
    }
}

fn types(schema: &Value) -> Option<BTreeSet<String>> {
    match schema.get("type")? {
        Value::String(t) => Some(BTreeSet::from([t.clone()])),
        Value::Array(ts) => Some(
            ts.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

fn alternatives(schema: &Value) -> Option<&Vec<Value>> {
    schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
}

/// Reasons `new` breaks consumers of `old`, at `path`.
fn breaks(old: &Value, old_root: &Value, new: &Value, new_root: &Value, path: &str) -> Vec<String> {
    let old = resolve(old, old_root);
    let new = resolve(new, new_root);
    let mut found = Vec::new();
    if let Some(new_alternatives) = alternatives(new) {
        for (i, alternative) in new_alternatives.iter().enumerate() {
            let fits = match alternatives(old) {
                Some(olds) => olds
                    .iter()
                    .any(|o| breaks(o, old_root, alternative, new_root, path).is_empty()),
                None => breaks(old, old_root, alternative, new_root, path).is_empty(),
            };
            if !fits {
                found.push(format!(
                    "{path}: alternative {i} is not accepted by the released schema"
                ));
            }
        }
        return found;
    }
    if let Some(old_alternatives) = alternatives(old) {
        if !old_alternatives
            .iter()
            .any(|o| breaks(o, old_root, new, new_root, path).is_empty())
        {
            found.push(format!("{path}: fits none of the released alternatives"));
        }
        return found;
    }
    if let (Some(old_types), Some(new_types)) = (types(old), types(new)) {
        for t in new_types.difference(&old_types) {
            let widened_integer = t == "integer" && old_types.contains("number");
            if !widened_integer {
                found.push(format!("{path}: may now be {t}"));
            }
        }
    }
    for keyword in ["format", "pattern", "const"] {
        if old.get(keyword) != new.get(keyword) && old.get(keyword).is_some() {
            found.push(format!("{path}: {keyword} changed"));
        }
    }
    if let Some(old_minimum) = old.get("minimum").and_then(Value::as_f64) {
        let new_minimum = new.get("minimum").and_then(Value::as_f64);
        if new_minimum.is_none_or(|n| n < old_minimum) {
            found.push(format!("{path}: minimum lowered"));
        }
    }
    if let Some(old_values) = old.get("enum").and_then(Value::as_array) {
        match new.get("enum").and_then(Value::as_array) {
            Some(new_values) => {
                for value in new_values {
                    if !old_values.contains(value) {
                        found.push(format!("{path}: new value {value}"));
                    }
                }
            }
            None => found.push(format!("{path}: no longer an enumeration")),
        }
    }
    let empty = Map::new();
    let old_properties = old
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let new_properties = new
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required = |schema: &Value| -> BTreeSet<String> {
        schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    for name in required(old).difference(&required(new)) {
        found.push(format!("{path}.{name}: no longer always present"));
    }
    for (name, old_property) in old_properties {
        if let Some(new_property) = new_properties.get(name) {
            found.extend(breaks(
                old_property,
                old_root,
                new_property,
                new_root,
                &format!("{path}.{name}"),
            ));
        }
    }
    if old.get("additionalProperties") == Some(&Value::Bool(false)) {
        for name in new_properties
            .keys()
            .filter(|n| !old_properties.contains_key(*n))
        {
            found.push(format!(
                "{path}.{name}: added where no other field was allowed"
            ));
        }
    }
    if let (Some(old_items), Some(new_items)) = (old.get("items"), new.get("items")) {
        found.extend(breaks(
            old_items,
            old_root,
            new_items,
            new_root,
            &format!("{path}[]"),
        ));
    }
    found
}

/// The schema inside a stored contract document (the envelope file is the schema itself).
fn schema_in(document: &Value) -> &Value {
    document.get("schema").unwrap_or(document)
}

fn incompatibilities(old_document: &Value, new_document: &Value) -> Vec<String> {
    let old = schema_in(old_document);
    let new = schema_in(new_document);
    breaks(old, old, new, new, "data")
}

#[test]
fn every_published_schema_matches_the_one_released() {
    let write = std::env::var_os("SCHEMAS_WRITE").is_some();
    let mut failures = Vec::new();
    for (name, document) in generated() {
        let path = schema_dir().join(&name);
        let text = serde_json::to_string_pretty(&document).unwrap() + "\n";
        let Ok(released) = std::fs::read_to_string(&path) else {
            if write {
                std::fs::write(&path, &text).unwrap();
            } else {
                failures.push(format!(
                    "{name}: new contract; record it with SCHEMAS_WRITE=1"
                ));
            }
            continue;
        };
        let released: Value = serde_json::from_str(&released).unwrap();
        if released == document {
            continue;
        }
        let broken = incompatibilities(&released, &document);
        if !broken.is_empty() {
            failures.push(format!(
                "{name} changed incompatibly; publish the new shape as a new version:\n  {}",
                broken.join("\n  ")
            ));
        } else if write {
            std::fs::write(&path, &text).unwrap();
        } else {
            failures.push(format!(
                "{name} changed compatibly; record it with SCHEMAS_WRITE=1"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn no_released_contract_disappears() {
    let generated: BTreeSet<String> = generated().into_iter().map(|(name, _)| name).collect();
    for entry in std::fs::read_dir(schema_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            generated.contains(&name),
            "{name} was released but is no longer published"
        );
    }
}

#[test]
fn public_names_are_unique_and_namespaced_by_context() {
    let schemas = PublishedLanguage.schemas();
    let mut seen = BTreeSet::new();
    for contract in &schemas {
        let (context, event) = contract.event_type.split_once('.').unwrap();
        assert_eq!(context, contract.context);
        assert!(
            !context.is_empty()
                && !event.is_empty()
                && contract
                    .event_type
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'),
            "{}",
            contract.event_type
        );
        assert!(contract.version >= 1);
        assert!(
            seen.insert((contract.event_type.clone(), contract.version)),
            "{} v{} twice",
            contract.event_type,
            contract.version
        );
    }
    assert!(seen.len() >= 25, "{seen:?}");
}

// ---------------------------------------------------------------------------------------------
// The compatibility check itself: it must reject the breaks it exists for.

fn contract(properties: Value, required: &[&str]) -> Value {
    serde_json::json!({
        "schema": {
            "type": "object",
            "properties": properties,
            "required": required,
        }
    })
}

#[test]
fn the_check_accepts_an_added_optional_field_and_rejects_real_breaks() {
    let released = contract(
        serde_json::json!({
            "order_id": {"type": "string", "format": "uuid"},
            "status": {"enum": ["placed", "paid"]},
            "total": {"type": "integer"},
        }),
        &["order_id", "status"],
    );
    let added_optional = contract(
        serde_json::json!({
            "order_id": {"type": "string", "format": "uuid"},
            "status": {"enum": ["placed", "paid"]},
            "total": {"type": "integer"},
            "note": {"type": ["string", "null"]},
        }),
        &["order_id", "status"],
    );
    assert_eq!(
        incompatibilities(&released, &added_optional),
        Vec::<String>::new()
    );

    let removed = contract(
        serde_json::json!({"status": {"enum": ["placed", "paid"]}}),
        &["status"],
    );
    let retyped = contract(
        serde_json::json!({
            "order_id": {"type": "integer"},
            "status": {"enum": ["placed", "paid"]},
        }),
        &["order_id", "status"],
    );
    let new_value = contract(
        serde_json::json!({
            "order_id": {"type": "string", "format": "uuid"},
            "status": {"enum": ["placed", "paid", "lost"]},
        }),
        &["order_id", "status"],
    );
    let nullable = contract(
        serde_json::json!({
            "order_id": {"type": ["string", "null"], "format": "uuid"},
            "status": {"enum": ["placed", "paid"]},
        }),
        &["order_id", "status"],
    );
    for broken in [removed, retyped, new_value, nullable] {
        assert!(
            !incompatibilities(&released, &broken).is_empty(),
            "{broken}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// What is published fits what is promised.

/// Checks `value` against the subset of JSON Schema the generator emits; reasons it does not fit.
fn misfits(value: &Value, schema: &Value, root: &Value, path: &str) -> Vec<String> {
    let schema = resolve(schema, root);
    if let Some(alternatives) = alternatives(schema) {
        return if alternatives
            .iter()
            .any(|a| misfits(value, a, root, path).is_empty())
        {
            Vec::new()
        } else {
            vec![format!("{path}: fits no alternative")]
        };
    }
    let mut found = Vec::new();
    if let Some(types) = types(schema) {
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let fits = types.contains(actual) || (actual == "integer" && types.contains("number"));
        if !fits {
            found.push(format!("{path}: {actual} where {types:?} was promised"));
            return found;
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        if !values.contains(value) {
            found.push(format!("{path}: {value} is not one of {values:?}"));
        }
    }
    if let Some(object) = value.as_object() {
        let empty = Map::new();
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(name) {
                found.push(format!("{path}.{name}: missing"));
            }
        }
        for (name, field) in object {
            match properties.get(name) {
                Some(property) => {
                    found.extend(misfits(field, property, root, &format!("{path}.{name}")))
                }
                None if !properties.is_empty() => {
                    found.push(format!("{path}.{name}: not in the schema"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            found.extend(misfits(item, items, root, &format!("{path}[{i}]")));
        }
    }
    found
}

/// Every stored golden event, of every stored format, as the feed would deliver it.
fn golden_feed_events() -> Vec<FeedEvent> {
    acceptance::golden::all()
        .into_iter()
        .enumerate()
        .map(|(index, (_, golden))| FeedEvent {
            cursor: Cursor {
                tx: 0,
                position: index as i64 + 1,
            },
            event_id: event_id(
                &golden.aggregate_type,
                &golden.aggregate_id,
                golden.sequence,
            ),
            aggregate_type: golden.aggregate_type,
            aggregate_id: golden.aggregate_id,
            sequence: golden.sequence,
            event_type: golden.event_type,
            event_version: golden.event_version,
            payload: golden.payload.into(),
            metadata: golden.metadata.into(),
        })
        .collect()
}

#[test]
fn every_published_event_fits_its_schema_and_the_envelope() {
    let schemas = PublishedLanguage.schemas();
    let envelope = envelope_schema();
    let mut published_types = BTreeSet::new();
    for event in golden_feed_events() {
        let name = format!(
            "{}.{} v{}",
            event.aggregate_type, event.event_type, event.event_version
        );
        let Some(published) = PublishedLanguage
            .publish(&event)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
        else {
            continue;
        };
        let contract = schemas
            .iter()
            .find(|c| c.event_type == published.event_type && c.version == published.version)
            .unwrap_or_else(|| panic!("{name}: {} has no schema", published.event_type));
        let misfit = misfits(&published.data, &contract.schema, &contract.schema, "data");
        assert!(misfit.is_empty(), "{name}: {misfit:?}");
        let envelope_value = serde_json::to_value(&published).unwrap();
        let misfit = misfits(&envelope_value, &envelope, &envelope, "envelope");
        assert!(misfit.is_empty(), "{name}: {misfit:?}");
        assert_eq!(published.id, event.event_id);
        published_types.insert(published.event_type);
    }
    let promised: BTreeSet<String> = schemas.into_iter().map(|c| c.event_type).collect();
    assert_eq!(
        published_types, promised,
        "every contract is published by some stored event"
    );
}

#[test]
fn the_public_type_known_without_decoding_is_the_one_published() {
    for event in golden_feed_events() {
        let published = PublishedLanguage
            .publish(&event)
            .unwrap()
            .map(|p| p.event_type);
        let known = PublishedLanguage
            .public_type(&event.aggregate_type, &event.event_type)
            .map(str::to_owned);
        assert_eq!(
            known, published,
            "{}.{}",
            event.aggregate_type, event.event_type
        );
    }
}

#[test]
fn no_payment_token_is_ever_published() {
    for event in golden_feed_events() {
        if let Some(published) = PublishedLanguage.publish(&event).unwrap() {
            let text = serde_json::to_string(&published).unwrap();
            assert!(!text.contains("tok_"), "{text}");
            assert!(!text.contains("payment_method_token"), "{text}");
        }
    }
}
