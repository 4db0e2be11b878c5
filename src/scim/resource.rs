//! Canonicalisation of a resource sent by a client, driven by the schema registry and shared by every
//! resource type.
//!
//! The result is a JSON object that holds only attributes the schemas name, under their canonical
//! names (attribute names are case-insensitive, RFC 7643 §2.1), with extension attributes nested under
//! their schema URN, values of the declared type, and readOnly attributes removed. Attributes no schema
//! names are ignored; `null` and empty values mean "absent". What clients really send is accepted where
//! the meaning is clear: `"True"`/`"False"` for booleans, numbers for strings, a lone object for a
//! multi-valued attribute, URN-qualified attribute names at the top level.

use serde_json::{Map, Value};

use super::error::InputError;
use super::schema::{AttrType, AttributeDef, Mutability, Registry, ResourceTypeDef, SchemaDef};

/// Canonicalises `input` as a resource of type `resource_type`.
pub fn canonicalize(
    registry: &Registry,
    resource_type: &ResourceTypeDef,
    input: &Value,
) -> Result<Map<String, Value>, InputError> {
    canonicalize_noting(registry, resource_type, input, &mut Vec::new())
}

/// [`canonicalize`], adding to `ignored` the name of each attribute of `input` no schema names (as
/// sent; an extension's attribute as `urn:…:name`). The common attributes `id`, `meta` and
/// `schemas` are named by RFC 7643 §3 and are not counted.
pub fn canonicalize_noting(
    registry: &Registry,
    resource_type: &ResourceTypeDef,
    input: &Value,
    ignored: &mut Vec<String>,
) -> Result<Map<String, Value>, InputError> {
    let Value::Object(fields) = input else {
        return Err(InputError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let core = registry
        .schema(&resource_type.schema)
        .expect("a resource type's core schema is served");
    let extensions: Vec<&SchemaDef> = resource_type
        .extensions
        .iter()
        .filter_map(|urn| registry.schema(urn))
        .collect();

    let max = registry.limits().multi_values;
    let mut out = Map::new();
    for (key, value) in fields {
        if key.eq_ignore_ascii_case("externalId") {
            if let Some(v) = canonical_value(&external_id_def(), value, "externalId", max)? {
                out.insert("externalId".to_owned(), v);
            }
            continue;
        }
        if let Some(attr) = core.attribute(key) {
            insert_attribute(&mut out, attr, value, &attr.name, max)?;
            continue;
        }
        if let Some(ext) = extensions.iter().find(|s| s.id.eq_ignore_ascii_case(key)) {
            let Value::Object(members) = value else {
                if value.is_null() {
                    continue;
                }
                return Err(InputError::invalid_syntax(format!(
                    "\"{}\" must be a JSON object of that extension's attributes",
                    ext.id
                )));
            };
            let target = extension_object(&mut out, &ext.id);
            for (name, v) in members {
                if let Some(attr) = ext.attribute(name) {
                    insert_attribute(target, attr, v, &format!("{}:{}", ext.id, attr.name), max)?;
                } else {
                    ignored.push(format!("{}:{name}", ext.id));
                }
            }
            continue;
        }
        // A URN-qualified attribute name: "urn:…:User:department".
        if let Some((urn, name)) = key.rsplit_once(':') {
            if let Some(attr) = core
                .id
                .eq_ignore_ascii_case(urn)
                .then(|| core.attribute(name))
                .flatten()
            {
                insert_attribute(&mut out, attr, value, &attr.name, max)?;
            } else if let Some(ext) = extensions.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
                && let Some(attr) = ext.attribute(name)
            {
                let path = format!("{}:{}", ext.id, attr.name);
                insert_attribute(extension_object(&mut out, &ext.id), attr, value, &path, max)?;
            } else {
                ignored.push(key.clone());
            }
            continue;
        }
        // Anything else (id, meta, schemas, attributes no schema names) is ignored.
        if !["id", "meta", "schemas"]
            .iter()
            .any(|common| key.eq_ignore_ascii_case(common))
        {
            ignored.push(key.clone());
        }
    }
    // Drop extension objects that ended up empty.
    out.retain(|_, v| !matches!(v, Value::Object(m) if m.is_empty()));
    Ok(out)
}

/// `externalId` is a common attribute (RFC 7643 §3.1): a case-exact string the client owns.
fn external_id_def() -> AttributeDef {
    AttributeDef {
        name: "externalId".to_owned(),
        kind: AttrType::String,
        multi_valued: false,
        required: false,
        case_exact: true,
        mutability: Mutability::ReadWrite,
        returned: super::schema::Returned::Default,
        canonical_values: Vec::new(),
        sub_attributes: Vec::new(),
    }
}

fn extension_object<'a>(out: &'a mut Map<String, Value>, urn: &str) -> &'a mut Map<String, Value> {
    let entry = out
        .entry(urn.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    match entry {
        Value::Object(m) => m,
        _ => unreachable!("extension entries are always objects"),
    }
}

fn insert_attribute(
    out: &mut Map<String, Value>,
    attr: &AttributeDef,
    value: &Value,
    path: &str,
    max: usize,
) -> Result<(), InputError> {
    if attr.mutability == Mutability::ReadOnly {
        return Ok(());
    }
    if let Some(v) = canonical_value(attr, value, path, max)? {
        out.insert(attr.name.clone(), v);
    }
    Ok(())
}

/// The canonical form of one attribute's value, or `None` when it is absent (`null`, empty). A
/// multi-valued attribute holds at most `max` elements.
pub fn canonical_value(
    attr: &AttributeDef,
    value: &Value,
    path: &str,
    max: usize,
) -> Result<Option<Value>, InputError> {
    if value.is_null() {
        return Ok(None);
    }
    if attr.multi_valued {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        if items.len() > max {
            return Err(InputError::invalid_value(format!(
                "\"{path}\" has {} values; at most {max} are accepted",
                items.len()
            )));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            if let Some(v) = single_value(attr, item, &format!("{path}[{i}]"))? {
                out.push(v);
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    if value.is_array() {
        // Entra sends single-valued complex attributes (manager) as a one-element array.
        return match value.as_array().map(Vec::as_slice) {
            Some([]) => Ok(None),
            Some([only]) => single_value(attr, only, path),
            _ => Err(InputError::invalid_value(format!(
                "\"{path}\" is single-valued but a list of several values was sent"
            ))),
        };
    }
    single_value(attr, value, path)
}

fn single_value(
    attr: &AttributeDef,
    value: &Value,
    path: &str,
) -> Result<Option<Value>, InputError> {
    if value.is_null() {
        return Ok(None);
    }
    match attr.kind {
        AttrType::Complex => {
            let Value::Object(fields) = value else {
                return Err(InputError::invalid_value(format!(
                    "\"{path}\" must be a JSON object with the sub-attributes {}",
                    attr.sub_attributes
                        .iter()
                        .map(|a| a.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            let mut out = Map::new();
            for (key, v) in fields {
                if let Some(sub) = attr.sub_attribute(key) {
                    if sub.mutability == Mutability::ReadOnly {
                        continue;
                    }
                    if let Some(v) = single_value(sub, v, &format!("{path}.{}", sub.name))? {
                        out.insert(sub.name.clone(), v);
                    }
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        AttrType::Boolean => match value {
            Value::Bool(b) => Ok(Some(Value::Bool(*b))),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
            _ => Err(InputError::invalid_value(format!(
                "\"{path}\" must be true or false"
            ))),
        },
        AttrType::String | AttrType::Reference | AttrType::Binary => match value {
            Value::String(s) => Ok(Some(Value::String(s.clone()))),
            Value::Number(n) => Ok(Some(Value::String(n.to_string()))),
            _ => Err(InputError::invalid_value(format!(
                "\"{path}\" must be a string"
            ))),
        },
        AttrType::DateTime => match value {
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
                Ok(Some(value.clone()))
            }
            _ => Err(InputError::invalid_value(format!(
                "\"{path}\" must be an RFC 3339 date-time such as \"2026-11-22T10:00:00Z\""
            ))),
        },
        AttrType::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(value.clone())),
            _ => Err(InputError::invalid_value(format!(
                "\"{path}\" must be an integer"
            ))),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => Ok(Some(value.clone())),
            _ => Err(InputError::invalid_value(format!(
                "\"{path}\" must be a number"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::urn;
    use serde_json::json;

    fn user(input: Value) -> Result<Value, InputError> {
        let registry = Registry::embedded();
        let rt = registry.resource_type("User").unwrap().clone();
        canonicalize(&registry, &rt, &input).map(Value::Object)
    }

    #[test]
    fn names_are_canonicalised_and_unknown_attributes_dropped() {
        let out = user(json!({
            "USERNAME": "a", "Name": {"GivenName": "Ann"}, "id": "x", "meta": {}, "schemas": [],
            "favouriteColour": "blue", "emails": [{"Value": "a@x", "primary": "True"}],
            "externalid": "e1"
        }))
        .unwrap();
        assert_eq!(
            out,
            json!({"userName": "a", "name": {"givenName": "Ann"},
                   "emails": [{"value": "a@x", "primary": true}], "externalId": "e1"})
        );
    }

    #[test]
    fn extensions_nest_under_their_urn_whether_nested_or_qualified() {
        let qualified = format!("{}:department", urn::ENTERPRISE_USER);
        let out = user(
            json!({ qualified: "Sales", urn::MOBIETRAIN_USER: {"companyid": "C1", "origin": "x"} }),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({ urn::ENTERPRISE_USER: {"department": "Sales"}, urn::MOBIETRAIN_USER: {"companyId": "C1"} })
        );
    }

    #[test]
    fn nulls_and_empties_are_absent_and_entra_manager_array_is_accepted() {
        let out = user(json!({
            "addresses": null, "phoneNumbers": [], "title": null,
            urn::ENTERPRISE_USER: {"manager": [{"value": "m1"}]}
        }))
        .unwrap();
        assert_eq!(
            out,
            json!({ urn::ENTERPRISE_USER: {"manager": {"value": "m1"}} })
        );
    }

    #[test]
    fn wrong_types_name_the_attribute() {
        let err = user(json!({"active": "maybe"})).unwrap_err();
        assert_eq!(err.scim_type, crate::scim::error::ScimType::InvalidValue);
        assert!(err.detail.contains("\"active\""), "{}", err.detail);
        let err = user(json!({"emails": [{"value": "a@x"}, {"primary": {"x": 1}}]})).unwrap_err();
        assert!(err.detail.contains("emails[1].primary"), "{}", err.detail);
        assert!(user(json!([1])).is_err());
    }
}
