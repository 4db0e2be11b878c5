//! Attribute paths, resolved against the schema registry: `attr`, `attr.sub`, `urn:…:attr.sub`, and
//! the common attributes `id`, `externalId` and `meta.*`. Names are case-insensitive (RFC 7643 §2.1);
//! a resolved path carries the canonical spelling and the definition of what it names. Shared by
//! filters, sorting, and (later) PATCH paths and attribute projection.

use scim_v2::filter::AttrPath;

use super::error::InputError;
use super::schema::{AttrType, AttributeDef, Mutability, Registry, ResourceTypeDef, Returned};

/// A path resolved to one attribute or sub-attribute of a resource type.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The canonical path: `name.givenName`, `emails.value`, `meta.created`, or for extension
    /// attributes `urn:…:User:department` and `urn:…:User:manager.value`.
    pub canonical: String,
    /// The definition of the attribute (or sub-attribute) the path ends at.
    pub def: AttributeDef,
    /// Whether the top-level attribute is multi-valued (for sub-attribute paths into it).
    pub in_multi_valued: bool,
}

fn synthetic(
    name: &str,
    kind: AttrType,
    case_exact: bool,
    subs: Vec<AttributeDef>,
) -> AttributeDef {
    AttributeDef {
        name: name.to_owned(),
        kind,
        multi_valued: false,
        required: false,
        case_exact,
        mutability: Mutability::ReadOnly,
        returned: Returned::Default,
        canonical_values: Vec::new(),
        sub_attributes: subs,
    }
}

/// The common attributes every resource has (RFC 7643 §3.1).
fn common(name: &str) -> Option<AttributeDef> {
    let meta = || {
        synthetic(
            "meta",
            AttrType::Complex,
            false,
            vec![
                synthetic("resourceType", AttrType::String, true, vec![]),
                synthetic("created", AttrType::DateTime, false, vec![]),
                synthetic("lastModified", AttrType::DateTime, false, vec![]),
                synthetic("location", AttrType::Reference, true, vec![]),
                synthetic("version", AttrType::String, true, vec![]),
            ],
        )
    };
    match name.to_ascii_lowercase().as_str() {
        "id" => Some(synthetic("id", AttrType::String, true, vec![])),
        "externalid" => {
            let mut def = synthetic("externalId", AttrType::String, true, vec![]);
            def.mutability = Mutability::ReadWrite;
            Some(def)
        }
        "meta" => Some(meta()),
        _ => None,
    }
}

/// Resolves `uri`, `name` and `sub` (as split by the filter grammar) for `resource_type`.
pub fn resolve(
    registry: &Registry,
    resource_type: &ResourceTypeDef,
    uri: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> Result<Resolved, InputError> {
    let unknown = |what: String| {
        InputError::invalid_filter(format!(
            "{what} is not an attribute of {} (see /Schemas)",
            resource_type.id
        ))
    };
    let shown = |uri: Option<&str>| {
        let mut s = uri.map(|u| format!("{u}:")).unwrap_or_default();
        s.push_str(name);
        if let Some(sub) = sub {
            s.push('.');
            s.push_str(sub);
        }
        format!("\"{s}\"")
    };
    let core_urn = resource_type.schema.as_str();
    let (prefix, top) = match uri {
        // Common attributes are not in any schema but may be qualified with the core URN.
        _ if uri.is_none_or(|u| u.eq_ignore_ascii_case(core_urn)) && common(name).is_some() => {
            (String::new(), common(name).expect("checked"))
        }
        None => {
            let core = registry
                .schema(core_urn)
                .expect("a resource type's schema is served");
            match core.attribute(name) {
                Some(def) => (String::new(), def.clone()),
                None => {
                    // An extension attribute named without its URN, if exactly one extension has it.
                    let mut found = resource_type
                        .extensions
                        .iter()
                        .filter_map(|urn| registry.schema(urn))
                        .filter_map(|s| s.attribute(name).map(|a| (s.id.clone(), a.clone())));
                    match (found.next(), found.next()) {
                        (Some((urn, def)), None) => (format!("{urn}:"), def),
                        _ => return Err(unknown(shown(None))),
                    }
                }
            }
        }
        Some(u) => {
            let schema = std::iter::once(&resource_type.schema)
                .chain(&resource_type.extensions)
                .filter_map(|urn| registry.schema(urn))
                .find(|s| s.id.eq_ignore_ascii_case(u))
                .ok_or_else(|| unknown(shown(uri)))?;
            let def = schema
                .attribute(name)
                .ok_or_else(|| unknown(shown(uri)))?
                .clone();
            let prefix = if schema.id == core_urn {
                String::new()
            } else {
                format!("{}:", schema.id)
            };
            (prefix, def)
        }
    };
    let in_multi_valued = top.multi_valued;
    match sub {
        None => Ok(Resolved {
            canonical: format!("{prefix}{}", top.name),
            def: top,
            in_multi_valued,
        }),
        Some(sub_name) => {
            let def = top
                .sub_attribute(sub_name)
                .ok_or_else(|| unknown(shown(uri)))?
                .clone();
            Ok(Resolved {
                canonical: format!("{prefix}{}.{}", top.name, def.name),
                def,
                in_multi_valued,
            })
        }
    }
}

/// Resolves a path as the filter grammar parsed it.
pub fn resolve_attr_path(
    registry: &Registry,
    resource_type: &ResourceTypeDef,
    path: &AttrPath,
) -> Result<Resolved, InputError> {
    resolve(
        registry,
        resource_type,
        path.uri.as_deref(),
        &path.name,
        path.sub_attr.as_deref(),
    )
}

/// Parses and resolves a path given as text, e.g. a `sortBy` value.
pub fn parse(
    registry: &Registry,
    resource_type: &ResourceTypeDef,
    text: &str,
) -> Result<Resolved, InputError> {
    let prepared = super::syntax::prepare(text);
    let path: scim_v2::filter::PatchPath = prepared.text.trim().parse().map_err(|e| {
        InputError::invalid_value(format!(
            "{text:?} is not an attribute path: {}",
            super::syntax::explain(text, &prepared, &e)
        ))
    })?;
    match path {
        // Outside a filter an unknown attribute is a bad value, not a bad filter.
        scim_v2::filter::PatchPath::Attr(attr) => resolve_attr_path(registry, resource_type, &attr)
            .map_err(|e| InputError::invalid_value(e.detail)),
        scim_v2::filter::PatchPath::Value(_) => Err(InputError::invalid_value(format!(
            "{text:?} has a value filter; an attribute path is expected here"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::urn;

    fn user(uri: Option<&str>, name: &str, sub: Option<&str>) -> Result<String, InputError> {
        let registry = Registry::embedded();
        let rt = registry.resource_type("User").unwrap().clone();
        resolve(&registry, &rt, uri, name, sub).map(|r| r.canonical)
    }

    #[test]
    fn canonical_names_in_any_case_with_or_without_urn() {
        assert_eq!(user(None, "USERNAME", None).unwrap(), "userName");
        assert_eq!(
            user(Some(urn::USER), "name", Some("GIVENNAME")).unwrap(),
            "name.givenName"
        );
        assert_eq!(user(None, "emails", Some("Value")).unwrap(), "emails.value");
        assert_eq!(user(None, "externalid", None).unwrap(), "externalId");
        assert_eq!(
            user(None, "META", Some("lastmodified")).unwrap(),
            "meta.lastModified"
        );
        assert_eq!(
            user(
                Some(&urn::ENTERPRISE_USER.to_uppercase()),
                "Manager",
                Some("value")
            )
            .unwrap(),
            format!("{}:manager.value", urn::ENTERPRISE_USER)
        );
        assert_eq!(
            user(None, "department", None).unwrap(),
            format!("{}:department", urn::ENTERPRISE_USER)
        );
    }

    #[test]
    fn unknown_paths_name_themselves() {
        let err = user(None, "favouriteColour", None).unwrap_err();
        assert!(err.detail.contains("favouriteColour"), "{}", err.detail);
        assert!(user(None, "name", Some("nickname")).is_err());
        assert!(user(Some("urn:nope"), "userName", None).is_err());
    }
}
