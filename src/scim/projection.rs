//! Attribute projection (RFC 7644 §3.4.2.5, §3.9): `attributes` and `excludedAttributes` on every
//! response, with the schema's `returned` characteristic honoured (`always` stays, `never` goes,
//! `request` only when asked for). Paths are resolved like filter paths, so names are
//! case-insensitive and may be URN-qualified or name sub-attributes (`name.givenName`).
//!
//! Each list is bounded ([`super::limits::Limits::projection_paths`]) before any path is resolved,
//! and each path is resolved once: a request's projection costs at most that many path parses.
//!
//! A tolerated client dialect (Microsoft's SCIM reference suite): an entry may carry a value
//! filter, `emails[type eq "work"]` or `emails[type eq "work"].value`. In `attributes` it shows the
//! attribute with only its matching elements; in `excludedAttributes` it hides those elements.

use scim_v2::filter::{AttrExp, PatchPath, ValFilter};
use serde_json::{Map, Value};

use super::error::InputError;
use super::patch::element_matches;
use super::path;
use super::schema::{AttrType, AttributeDef, Registry, ResourceTypeDef, Returned};
use super::syntax;

/// What a response shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    /// `attributes`: canonical paths; when set, only these (and `returned: always`) are shown.
    include: Option<Vec<String>>,
    /// `excludedAttributes`: canonical paths not shown (unless `returned: always`).
    exclude: Vec<String>,
    /// Value filters of `attributes`: the multi-valued attribute (canonical) shows only the
    /// elements that match one of its filters.
    keep_elements: Vec<ElementFilter>,
    /// Value filters of `excludedAttributes`: elements that match are not shown.
    drop_elements: Vec<ElementFilter>,
}

/// A value filter on the elements of one multi-valued complex attribute.
#[derive(Debug, Clone, PartialEq)]
struct ElementFilter {
    /// The attribute's canonical path (`emails`, `urn:…:User:stores`).
    attribute: String,
    /// Its definition, to compare sub-attributes by their type and case rule.
    def: AttributeDef,
    /// The filter.
    filter: ValFilter,
}

/// One resolved entry of a list.
struct Entry {
    canonical: String,
    filter: Option<ElementFilter>,
}

/// The entries of a comma-separated list, refused when there are more than `max`: counted by
/// their commas, before anything else is read (a comma inside a value filter counts too). Commas
/// inside a value filter's brackets do not split.
fn split<'a>(list: Option<&'a str>, name: &str, max: usize) -> Result<Vec<&'a str>, InputError> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let named = list.split(',').filter(|s| !s.trim().is_empty()).count();
    if named > max {
        return Err(InputError::invalid_value(format!(
            "\"{name}\" names more than {max} attributes; name each at most once, {max} at most"
        )));
    }
    Ok(split_top_level(list)
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect())
}

/// The pieces of `list` between the commas outside a value filter's brackets (and outside quoted
/// strings inside them), or between every comma when the brackets do not balance.
fn split_top_level(list: &str) -> Vec<&str> {
    let (mut pieces, mut start, mut depth, mut quoted, mut escaped) =
        (Vec::new(), 0, 0usize, false, false);
    for (i, c) in list.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if depth > 0 => quoted = !quoted,
            _ if quoted => {}
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            ']' => return list.split(',').collect(),
            ',' if depth == 0 => {
                pieces.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 || quoted {
        return list.split(',').collect();
    }
    pieces.push(&list[start..]);
    pieces
}

/// Checks that a value filter names only sub-attributes of `parent`.
fn check_filter(filter: &ValFilter, parent: &AttributeDef, shown: &str) -> Result<(), InputError> {
    match filter {
        ValFilter::Not(inner) => check_filter(inner, parent, shown),
        ValFilter::And(ops) | ValFilter::Or(ops) => ops
            .as_slice()
            .iter()
            .try_for_each(|f| check_filter(f, parent, shown)),
        ValFilter::Attr(AttrExp::Present(p) | AttrExp::Comparison(p, _, _)) => {
            match (&p.uri, &p.sub_attr, parent.sub_attribute(&p.name)) {
                (None, None, Some(_)) => Ok(()),
                _ => Err(InputError::invalid_value(format!(
                    "{shown:?}: inside \"{}[…]\" name sub-attributes of {} only, such as value or type",
                    parent.name, parent.name
                ))),
            }
        }
    }
}

/// One projection entry of `resource_type` resolved: its canonical path, and its value filter.
fn resolve(
    registry: &Registry,
    resource_type: &ResourceTypeDef,
    p: &str,
) -> Result<Entry, InputError> {
    // A bare extension URN names the whole extension.
    if let Some(urn) = resource_type
        .extensions
        .iter()
        .find(|u| u.eq_ignore_ascii_case(p))
    {
        return Ok(Entry {
            canonical: urn.clone(),
            filter: None,
        });
    }
    if !p.contains('[') {
        return path::parse(registry, resource_type, p).map(|r| Entry {
            canonical: r.canonical,
            filter: None,
        });
    }
    let prepared = syntax::prepare(p);
    let parsed: PatchPath = prepared.text.trim().parse().map_err(|e| {
        InputError::invalid_value(format!(
            "{p:?} is not an attribute path: {}",
            syntax::explain(p, &prepared, &e)
        ))
    })?;
    let PatchPath::Value(vp) = parsed else {
        unreachable!("a path with \"[\" that parses is a value path");
    };
    let attribute = path::resolve_attr_path(registry, resource_type, &vp.attr)
        .map_err(|e| InputError::invalid_value(e.detail))?;
    if !(attribute.def.multi_valued && attribute.def.kind == AttrType::Complex)
        || vp.attr.sub_attr.is_some()
    {
        return Err(InputError::invalid_value(format!(
            "{p:?}: only a multi-valued complex attribute (such as emails) takes a [filter]"
        )));
    }
    check_filter(&vp.filter, &attribute.def, p)?;
    let canonical = match &vp.sub_attr {
        None => attribute.canonical.clone(),
        Some(sub) => {
            let def = attribute.def.sub_attribute(sub).ok_or_else(|| {
                InputError::invalid_value(format!(
                    "{p:?}: \"{}\" has no sub-attribute {sub:?}",
                    attribute.canonical
                ))
            })?;
            format!("{}.{}", attribute.canonical, def.name)
        }
    };
    Ok(Entry {
        canonical,
        filter: Some(ElementFilter {
            attribute: attribute.canonical,
            def: attribute.def,
            filter: vp.filter,
        }),
    })
}

/// The entries of one list, resolved; with `lenient`, names the resource type does not have are
/// skipped instead of refused.
fn resolve_all(
    registry: &Registry,
    resource_type: &ResourceTypeDef,
    entries: &[&str],
    lenient: bool,
) -> Result<Vec<Entry>, InputError> {
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        match resolve(registry, resource_type, entry) {
            Ok(resolved) => out.push(resolved),
            Err(_) if lenient => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The canonical paths of `entries` (each once; those with a value filter only when
/// `with_filtered`), and their value filters.
fn paths_and_filters(
    entries: Vec<Entry>,
    with_filtered: bool,
) -> (Vec<String>, Vec<ElementFilter>) {
    let mut paths: Vec<String> = Vec::with_capacity(entries.len());
    let mut filters = Vec::new();
    for Entry { canonical, filter } in entries {
        if (with_filtered || filter.is_none()) && !paths.contains(&canonical) {
            paths.push(canonical);
        }
        filters.extend(filter);
    }
    (paths, filters)
}

impl Projection {
    /// Reads the two parameters (comma-separated lists) for `resource_type`. Unknown attributes are a
    /// 400 `invalidValue` naming them; so is a list longer than the registry's limit.
    pub fn parse(
        registry: &Registry,
        resource_type: &ResourceTypeDef,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Self, InputError> {
        Self::read(registry, resource_type, attributes, excluded, false)
    }

    /// Like [`Projection::parse`], but names the resource type does not have are skipped (root
    /// search spans several types). Too long a list is still refused.
    pub fn parse_lenient(
        registry: &Registry,
        resource_type: &ResourceTypeDef,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Self, InputError> {
        Self::read(registry, resource_type, attributes, excluded, true)
    }

    fn read(
        registry: &Registry,
        resource_type: &ResourceTypeDef,
        attributes: Option<&str>,
        excluded: Option<&str>,
        lenient: bool,
    ) -> Result<Self, InputError> {
        let max = registry.limits().projection_paths;
        let asked = split(attributes, "attributes", max)?;
        let unwanted = split(excluded, "excludedAttributes", max)?;
        let (include, keep_elements) = if asked.is_empty() {
            (None, Vec::new())
        } else {
            let (kept, filters) =
                paths_and_filters(resolve_all(registry, resource_type, &asked, lenient)?, true);
            // Asked for attributes, none of this type: show only what is always returned.
            let kept = if kept.is_empty() {
                vec!["id".to_owned()]
            } else {
                kept
            };
            (Some(kept), filters)
        };
        // An excluded value filter hides elements, not the attribute.
        let (exclude, drop_elements) = paths_and_filters(
            resolve_all(registry, resource_type, &unwanted, lenient)?,
            false,
        );
        Ok(Self {
            include,
            exclude,
            keep_elements,
            drop_elements,
        })
    }

    /// Whether nothing is projected away (beyond what `returned` always removes).
    pub fn is_identity(&self) -> bool {
        self.include.is_none() && self.exclude.is_empty() && self.drop_elements.is_empty()
    }

    /// Whether the top-level attribute `canonical` would be shown, so a costly one (group
    /// `members`) need not be loaded at all when it would not.
    pub fn wants(&self, canonical: &str) -> bool {
        if self.exclude.iter().any(|e| e == canonical) {
            return false;
        }
        match &self.include {
            None => true,
            Some(list) => list
                .iter()
                .any(|i| i == canonical || i.starts_with(&format!("{canonical}."))),
        }
    }

    /// Projects one resource.
    pub fn apply(
        &self,
        registry: &Registry,
        resource_type: &ResourceTypeDef,
        resource: Value,
    ) -> Value {
        let Value::Object(fields) = resource else {
            return resource;
        };
        let mut out = Map::new();
        for (key, value) in fields {
            if key == "schemas" || key == "id" {
                out.insert(key, value);
                continue;
            }
            let extension = resource_type.extensions.iter().find(|u| **u == key);
            match (extension, value) {
                (Some(urn), _) if self.exclude.iter().any(|e| e == urn) => {}
                (Some(urn), Value::Object(members)) => {
                    let mut kept = Map::new();
                    for (name, v) in members {
                        if let Some(v) = self.project_attribute(
                            registry,
                            resource_type,
                            &format!("{urn}:{name}"),
                            Some(urn),
                            &name,
                            v,
                        ) {
                            kept.insert(name, v);
                        }
                    }
                    if !kept.is_empty() {
                        out.insert(key, Value::Object(kept));
                    }
                }
                (_, value) => {
                    if let Some(v) = self.project_attribute(
                        registry,
                        resource_type,
                        &key.clone(),
                        None,
                        &key,
                        value,
                    ) {
                        out.insert(key, v);
                    }
                }
            }
        }
        Value::Object(out)
    }

    /// The elements of multi-valued `canonical` that its value filters let through (`None` when
    /// none is left).
    fn filter_elements(&self, canonical: &str, value: Value) -> Option<Value> {
        let keep: Vec<&ElementFilter> = self
            .keep_elements
            .iter()
            .filter(|f| f.attribute == canonical)
            .collect();
        let drop: Vec<&ElementFilter> = self
            .drop_elements
            .iter()
            .filter(|f| f.attribute == canonical)
            .collect();
        if keep.is_empty() && drop.is_empty() {
            return Some(value);
        }
        let matches =
            |f: &ElementFilter, e: &Value| element_matches(&f.filter, e, &f.def).unwrap_or(false);
        let Value::Array(items) = value else {
            return Some(value);
        };
        let kept: Vec<Value> = items
            .into_iter()
            .filter(|e| keep.is_empty() || keep.iter().any(|f| matches(f, e)))
            .filter(|e| !drop.iter().any(|f| matches(f, e)))
            .collect();
        (!kept.is_empty()).then_some(Value::Array(kept))
    }

    fn project_attribute(
        &self,
        registry: &Registry,
        resource_type: &ResourceTypeDef,
        canonical: &str,
        urn: Option<&str>,
        name: &str,
        value: Value,
    ) -> Option<Value> {
        let returned = path::resolve(registry, resource_type, urn, name, None)
            .map(|r| r.def.returned)
            .unwrap_or(Returned::Default);
        match returned {
            Returned::Never => return None,
            Returned::Always => return Some(value),
            _ => {}
        }
        let whole_extension = urn.is_some_and(|u| {
            self.include
                .as_ref()
                .is_some_and(|l| l.iter().any(|i| i == u))
        });
        if self.exclude.iter().any(|e| e == canonical) {
            return None;
        }
        let asked = match &self.include {
            None => returned != Returned::Request,
            Some(list) => {
                whole_extension
                    || list
                        .iter()
                        .any(|i| i == canonical || i.starts_with(&format!("{canonical}.")))
            }
        };
        if !asked {
            return None;
        }
        // Sub-attribute selection and exclusion inside a complex value.
        let wanted_subs: Option<Vec<&str>> = self.include.as_ref().and_then(|list| {
            if whole_extension || list.iter().any(|i| i == canonical) {
                return None;
            }
            Some(
                list.iter()
                    .filter_map(|i| i.strip_prefix(&format!("{canonical}.")))
                    .collect(),
            )
        });
        let excluded_subs: Vec<&str> = self
            .exclude
            .iter()
            .filter_map(|e| e.strip_prefix(&format!("{canonical}.")))
            .collect();
        let value = self.filter_elements(canonical, value)?;
        if wanted_subs.is_none() && excluded_subs.is_empty() {
            return Some(value);
        }
        let trim = |element: Value| -> Value {
            let Value::Object(m) = element else {
                return element;
            };
            Value::Object(
                m.into_iter()
                    .filter(|(k, _)| {
                        wanted_subs
                            .as_ref()
                            .is_none_or(|w| w.iter().any(|s| s.eq_ignore_ascii_case(k)))
                            && !excluded_subs.iter().any(|s| s.eq_ignore_ascii_case(k))
                    })
                    .collect(),
            )
        };
        Some(match value {
            Value::Array(items) => Value::Array(items.into_iter().map(trim).collect()),
            other => trim(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        let registry = Registry::embedded();
        let rt = registry.resource_type("User").unwrap().clone();
        let p = Projection::parse(&registry, &rt, attributes, excluded).unwrap();
        let mt = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";
        p.apply(&registry, &rt, json!({
            "schemas": ["s"], "id": "u1", "userName": "ann", "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "a@x", "type": "work"}], "meta": {"resourceType": "User"},
            mt: {"companyId": "C1", "origin": "scim"}
        }))
    }

    #[test]
    fn attributes_keep_only_what_is_asked_and_what_is_always_returned() {
        assert_eq!(
            project(Some("USERNAME,name.givenName"), None),
            json!({"schemas": ["s"], "id": "u1", "userName": "ann", "name": {"givenName": "Ann"}})
        );
        assert_eq!(
            project(Some("emails.value"), None),
            json!({"schemas": ["s"], "id": "u1", "emails": [{"value": "a@x"}]})
        );
        let mt = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";
        assert_eq!(
            project(Some(mt), None)[mt],
            json!({"companyId": "C1", "origin": "scim"})
        );
        assert_eq!(
            project(Some(&format!("{mt}:companyId")), None)[mt],
            json!({"companyId": "C1"})
        );
    }

    #[test]
    fn excluded_attributes_drop_what_is_named() {
        let out = project(None, Some("emails,name.familyName,meta"));
        assert!(out.get("emails").is_none() && out.get("meta").is_none());
        assert_eq!(out["name"], json!({"givenName": "Ann"}));
        assert_eq!(
            project(None, Some("id"))["id"],
            "u1",
            "id is returned always"
        );
    }

    #[test]
    fn unknown_attributes_are_refused() {
        let registry = Registry::embedded();
        let rt = registry.resource_type("User").unwrap().clone();
        assert!(Projection::parse(&registry, &rt, Some("nope"), None).is_err());
        let p = Projection::parse(&registry, &rt, None, Some("members")).err();
        assert!(p.is_some());
    }
}
