//! The PATCH engine (RFC 7644 §3.5.2): pure and storage-agnostic. It applies a PatchOp request to a
//! resource's JSON (core attributes at the top, extension attributes under their URN) and returns the
//! new JSON, which the caller then validates and stores exactly as it would a PUT. All operations of a
//! request apply to a copy, so a failing one leaves nothing changed.
//!
//! What Entra ID and Okta really send is recognised in one normalising step ([`normalize`]) that turns
//! it into plain RFC operations and reports each rewrite: capitalised op names, pathless values whose
//! keys are paths, `null`/`""` meaning "clear", a string where a complex attribute belongs, removal
//! by a `value` list. Add or replace on a value path that matches no element creates the element from
//! the filter's equalities (Entra's `emails[type eq "work"].value`); a clear of such a path has
//! nothing to clear and changes nothing. Clearing (`""`, `null`) or removing the `value` of
//! filtered elements of a multi-valued attribute removes those elements (Entra's null update).
//! ReadOnly attributes are refused with `mutability`, except in a pathless value that merely
//! echoes the current state (Okta).
//!
//! After every add or replace on a multi-valued complex attribute, one step ([`settle`]) keeps it
//! well-formed: making an element primary moves `primary` to it (RFC 7643 §2.4), and an element
//! that is already there is merged into it instead of added twice (RFC 7644 §3.5.2.1). A request
//! that changes nothing therefore gives back an equal document, which callers store as no change.

use scim_v2::filter::{AttrExp, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};

use super::dialect::Rewrite;
use super::error::{InputError, ScimType};
use super::path::{self, Resolved};
use super::resource::canonical_value;
use super::schema::{AttrType, AttributeDef, Mutability, Registry, ResourceTypeDef};
use super::syntax;
use super::urn;
use crate::text::fold_case;

/// A PATCH operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// `add`.
    Add,
    /// `replace`.
    Replace,
    /// `remove`.
    Remove,
}

/// One operation after normalisation: a kind, a parsed path, a value.
#[derive(Debug, Clone)]
pub struct Operation {
    /// What to do.
    pub kind: OpKind,
    /// Where (always present after normalisation: pathless values are split per attribute).
    pub path: PatchPath,
    /// The value, if any.
    pub value: Option<Value>,
    /// Whether the operation came from a pathless value (readOnly echoes are then ignored).
    pub from_pathless: bool,
    /// The path as the client wrote it, for messages.
    pub shown: String,
}

fn mutability(detail: String) -> InputError {
    InputError {
        scim_type: ScimType::Mutability,
        detail,
    }
}

fn invalid_path(detail: String) -> InputError {
    InputError {
        scim_type: ScimType::InvalidPath,
        detail,
    }
}

fn no_target(detail: String) -> InputError {
    InputError {
        scim_type: ScimType::NoTarget,
        detail,
    }
}

fn parse_path(text: &str) -> Result<PatchPath, InputError> {
    let prepared = syntax::prepare(text);
    prepared.text.trim().parse().map_err(|e| {
        invalid_path(format!(
            "the path {text:?} does not parse: {}",
            syntax::explain(text, &prepared, &e)
        ))
    })
}

/// Reads a PatchOp body into plain RFC operations, recording every dialect rewrite.
pub fn normalize(
    registry: &Registry,
    resource_type: &ResourceTypeDef,
    body: &Value,
    rewrites: &mut Vec<Rewrite>,
) -> Result<Vec<Operation>, InputError> {
    let Value::Object(fields) = body else {
        return Err(InputError::invalid_syntax(
            "a PATCH body is a JSON object with \"Operations\"",
        ));
    };
    if let Some(schemas) = fields.get("schemas") {
        let names_patch = schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(urn::PATCH_OP)));
        if !names_patch {
            return Err(InputError::invalid_syntax(format!(
                "a PATCH body's \"schemas\" must be [\"{}\"]",
                urn::PATCH_OP
            )));
        }
    }
    let ops = fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .map(|(_, v)| v)
        .ok_or_else(|| InputError::invalid_syntax("a PATCH body needs \"Operations\""))?;
    let Value::Array(ops) = ops else {
        return Err(InputError::invalid_syntax(
            "\"Operations\" must be a JSON array",
        ));
    };
    if ops.is_empty() {
        return Err(InputError::invalid_value(
            "\"Operations\" is empty: a PATCH needs at least one operation",
        ));
    }
    let max = registry.limits().patch_operations;
    if ops.len() > max {
        return Err(InputError::invalid_value(format!(
            "\"Operations\" has {} operations; at most {max} are accepted",
            ops.len()
        )));
    }
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let Value::Object(op) = op else {
            return Err(InputError::invalid_syntax(format!(
                "Operations[{i}] must be a JSON object"
            )));
        };
        let get = |name: &str| {
            op.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let kind_text = get("op").and_then(Value::as_str).ok_or_else(|| {
            InputError::invalid_syntax(format!(
                "Operations[{i}] needs \"op\": add, replace or remove"
            ))
        })?;
        let kind = match kind_text.to_ascii_lowercase().as_str() {
            "add" => OpKind::Add,
            "replace" => OpKind::Replace,
            "remove" => OpKind::Remove,
            other => {
                return Err(InputError::invalid_syntax(format!(
                    "Operations[{i}].op is {other:?}; it must be add, replace or remove"
                )));
            }
        };
        if kind_text.chars().any(|c| c.is_ascii_uppercase()) {
            rewrites.push(Rewrite::CapitalisedOp);
        }
        let value = get("value").cloned();
        let path = get("path")
            .and_then(Value::as_str)
            .filter(|p| !p.trim().is_empty());
        if let Some(urn) = path.and_then(|p| {
            resource_type
                .extensions
                .iter()
                .find(|u| u.eq_ignore_ascii_case(p.trim()))
        }) {
            out.extend(whole_extension(registry, urn, kind, value, i)?);
            continue;
        }
        match path {
            Some(path) => out.push(Operation {
                kind,
                path: parse_path(path)?,
                value,
                from_pathless: false,
                shown: path.to_owned(),
            }),
            None => {
                if kind == OpKind::Remove {
                    return Err(no_target(format!(
                        "Operations[{i}] is a remove without a \"path\""
                    )));
                }
                let Some(Value::Object(members)) = value else {
                    return Err(InputError::invalid_syntax(format!(
                        "Operations[{i}] has no \"path\", so its \"value\" must be an object of attributes"
                    )));
                };
                for (key, v) in members {
                    // Message framing that clients echo back, and attributes no schema names: ignored,
                    // as in a PUT.
                    if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("meta") {
                        continue;
                    }
                    let known = parse_path(&key).ok().is_some_and(|p| {
                        let attr = match &p {
                            PatchPath::Attr(a) => a,
                            PatchPath::Value(vp) => &vp.attr,
                        };
                        path::resolve(
                            registry,
                            resource_type,
                            attr.uri.as_deref(),
                            &attr.name,
                            None,
                        )
                        .is_ok()
                    });
                    let is_extension = resource_type
                        .extensions
                        .iter()
                        .any(|u| u.eq_ignore_ascii_case(&key));
                    if is_extension && v.is_object() {
                        for (name, inner) in v.as_object().into_iter().flatten() {
                            let shown = format!("{key}:{name}");
                            out.push(Operation {
                                kind,
                                path: parse_path(&shown)?,
                                value: Some(inner.clone()),
                                from_pathless: true,
                                shown,
                            });
                        }
                        continue;
                    }
                    if !is_extension && !known {
                        continue;
                    }
                    if key.contains(['.', '[', ':']) {
                        rewrites.push(Rewrite::PathlessKeyIsPath);
                    }
                    out.push(Operation {
                        kind,
                        path: parse_path(&key)?,
                        value: Some(v),
                        from_pathless: true,
                        shown: key,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The operations of one whose path is a whole extension (`urn:…:enterprise:2.0:User`, as
/// scim2-tester sends): an add or replace of an object is one operation per attribute it names (as
/// in a pathless value, so a read-only attribute it merely echoes is ignored); a remove is a
/// remove of every attribute of the extension a client may write.
fn whole_extension(
    registry: &Registry,
    urn: &str,
    kind: OpKind,
    value: Option<Value>,
    i: usize,
) -> Result<Vec<Operation>, InputError> {
    let operation = |name: &str, value: Option<Value>, from_pathless: bool| {
        let shown = format!("{urn}:{name}");
        parse_path(&shown).map(|path| Operation {
            kind,
            path,
            value,
            from_pathless,
            shown,
        })
    };
    match (kind, value) {
        (OpKind::Remove, _) => registry
            .schema(urn)
            .map(|s| s.attributes.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|a| a.mutability != Mutability::ReadOnly)
            .map(|a| operation(&a.name, None, false))
            .collect(),
        // Message framing a client may put in the object (`schemas`), as in a pathless value.
        (_, Some(Value::Object(members))) => members
            .into_iter()
            .filter(|(name, _)| {
                !name.eq_ignore_ascii_case("schemas") && !name.eq_ignore_ascii_case("meta")
            })
            .map(|(name, v)| operation(&name, Some(v), true))
            .collect(),
        _ => Err(InputError::invalid_syntax(format!(
            "Operations[{i}] names the extension {urn} as its path, so its \"value\" must be an \
             object of the extension's attributes"
        ))),
    }
}

/// Where an attribute lives in the document: its container (`None` for core) and its name.
#[derive(Debug, Clone)]
struct Location {
    container: Option<String>,
    name: String,
    def: AttributeDef,
}

fn locate(
    registry: &Registry,
    rt: &ResourceTypeDef,
    attr: &scim_v2::filter::AttrPath,
) -> Result<(Location, Option<AttributeDef>), InputError> {
    let top: Resolved = path::resolve(registry, rt, attr.uri.as_deref(), &attr.name, None)
        .map_err(|e| invalid_path(e.detail))?;
    let (container, name) = match top.canonical.rsplit_once(':') {
        Some((urn, name)) => (Some(urn.to_owned()), name.to_owned()),
        None => (None, top.canonical.clone()),
    };
    let sub = match &attr.sub_attr {
        Some(s) => Some(top.def.sub_attribute(s).cloned().ok_or_else(|| {
            invalid_path(format!("\"{}\" has no sub-attribute {s:?}", top.canonical))
        })?),
        None => None,
    };
    Ok((
        Location {
            container,
            name,
            def: top.def,
        },
        sub,
    ))
}

fn container_mut<'a>(
    doc: &'a mut Map<String, Value>,
    container: &Option<String>,
) -> &'a mut Map<String, Value> {
    match container {
        None => doc,
        Some(urn) => {
            let entry = doc
                .entry(urn.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            entry.as_object_mut().expect("made an object above")
        }
    }
}

fn current<'a>(doc: &'a Map<String, Value>, loc: &Location) -> Option<&'a Value> {
    match &loc.container {
        None => doc.get(&loc.name),
        Some(urn) => doc.get(urn).and_then(|c| c.get(&loc.name)),
    }
}

/// Whether an element of a multi-valued complex attribute satisfies a value filter.
pub fn element_matches(
    filter: &ValFilter,
    element: &Value,
    parent: &AttributeDef,
) -> Result<bool, InputError> {
    Ok(match filter {
        ValFilter::Not(inner) => !element_matches(inner, element, parent)?,
        ValFilter::And(ops) => {
            for f in ops.as_slice() {
                if !element_matches(f, element, parent)? {
                    return Ok(false);
                }
            }
            true
        }
        ValFilter::Or(ops) => {
            for f in ops.as_slice() {
                if element_matches(f, element, parent)? {
                    return Ok(true);
                }
            }
            false
        }
        ValFilter::Attr(AttrExp::Present(p)) => {
            let have = sub_value(element, parent, &p.name)?;
            matches!(have, Some(v) if !v.is_null() && v != &Value::String(String::new()))
        }
        ValFilter::Attr(AttrExp::Comparison(p, op, want)) => {
            let def = parent.sub_attribute(&p.name).ok_or_else(|| {
                invalid_path(format!(
                    "\"{}\" has no sub-attribute {:?}",
                    parent.name, p.name
                ))
            })?;
            let have = sub_value(element, parent, &p.name)?;
            compare(def, have, op, want)
        }
    })
}

fn sub_value<'v>(
    element: &'v Value,
    parent: &AttributeDef,
    name: &str,
) -> Result<Option<&'v Value>, InputError> {
    let def = parent.sub_attribute(name).ok_or_else(|| {
        invalid_path(format!("\"{}\" has no sub-attribute {name:?}", parent.name))
    })?;
    Ok(element.get(&def.name))
}

fn compare(def: &AttributeDef, have: Option<&Value>, op: &CompareOp, want: &CompValue) -> bool {
    let eq = |have: Option<&Value>| -> bool {
        match (have, want) {
            (None | Some(Value::Null), CompValue::Null) => true,
            (Some(Value::Bool(h)), CompValue::True) => *h,
            (Some(Value::Bool(h)), CompValue::False) => !*h,
            (Some(Value::Bool(h)), CompValue::Str(s)) => {
                s.eq_ignore_ascii_case(if *h { "true" } else { "false" })
            }
            (Some(Value::String(h)), CompValue::Str(w)) => {
                if def.case_exact {
                    h == w
                } else {
                    fold_case(h) == fold_case(w)
                }
            }
            _ => false,
        }
    };
    match op {
        CompareOp::Eq => eq(have),
        CompareOp::Ne => !eq(have),
        _ => {
            let (Some(Value::String(h)), CompValue::Str(w)) = (have, want) else {
                return false;
            };
            let (h, w) = if def.case_exact {
                (h.clone(), w.clone())
            } else {
                (fold_case(h), fold_case(w))
            };
            match op {
                CompareOp::Co => h.contains(&w),
                CompareOp::Sw => h.starts_with(&w),
                CompareOp::Ew => h.ends_with(&w),
                CompareOp::Gt => h > w,
                CompareOp::Ge => h >= w,
                CompareOp::Lt => h < w,
                CompareOp::Le => h <= w,
                CompareOp::Eq | CompareOp::Ne => unreachable!("handled above"),
            }
        }
    }
}

/// The element a value filter describes, from its `sub eq value` conjuncts (for add/replace on a value
/// path that matches nothing).
fn element_from_filter(
    filter: &ValFilter,
    parent: &AttributeDef,
    out: &mut Map<String, Value>,
) -> bool {
    match filter {
        ValFilter::And(ops) => ops
            .as_slice()
            .iter()
            .all(|f| element_from_filter(f, parent, out)),
        ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, value)) => {
            let Some(def) = parent.sub_attribute(&p.name) else {
                return false;
            };
            let v = match value {
                CompValue::Str(s) if def.kind == AttrType::Boolean => {
                    Value::Bool(s.eq_ignore_ascii_case("true"))
                }
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return false,
            };
            out.insert(def.name.clone(), v);
            true
        }
        _ => false,
    }
}

/// Whether an element of a multi-valued attribute is marked primary.
fn is_primary(element: &Value) -> bool {
    element.get("primary") == Some(&Value::Bool(true))
}

/// The sub-attributes that say which element an element of a multi-valued complex attribute is:
/// `value` and `type` (emails, phoneNumbers, roles), `refId` (a store is identified by its ref id),
/// or, for an attribute with neither `value` nor `refId` (addresses), every sub-attribute but
/// `primary`. Two elements equal on these are the same element.
fn identifying(def: &AttributeDef) -> Vec<&AttributeDef> {
    let is =
        |s: &AttributeDef, names: &[&str]| names.iter().any(|n| s.name.eq_ignore_ascii_case(n));
    let keyed = def
        .sub_attributes
        .iter()
        .any(|s| is(s, &["value", "refId"]));
    def.sub_attributes
        .iter()
        .filter(|s| {
            if keyed {
                is(s, &["value", "refId", "type"])
            } else {
                !is(s, &["primary"])
            }
        })
        .collect()
}

/// Whether two elements are the same element: equal on every identifying sub-attribute (`keys`,
/// from [`identifying`]), text compared by the sub-attribute's case rule (`caseExact: false`
/// compares folded), an absent sub-attribute equal only to an absent (or null) one.
fn same_element(keys: &[&AttributeDef], a: &Value, b: &Value) -> bool {
    keys.iter().all(|sub| {
        let get = |e: &Value| e.get(&sub.name).filter(|v| !v.is_null()).cloned();
        match (get(a), get(b)) {
            (Some(Value::String(x)), Some(Value::String(y))) if !sub.case_exact => {
                fold_case(&x) == fold_case(&y)
            }
            (x, y) => x == y,
        }
    })
}

/// Makes a multi-valued complex attribute's elements obey RFC 7643 §2.4 and RFC 7644 §3.5.2.1 after
/// an operation. `items` pairs each element with whether the operation wrote it.
///
/// * Primary: when the operation made an element primary, every element it did not write loses
///   `primary`, so setting one primary moves it. Elements the operation itself marks primary are
///   left as sent: two of them are the client's mistake, refused by the rules' one-primary check.
/// * Duplicates: an element that is the same as an earlier one ([`same_element`]) is merged into
///   it (its other sub-attributes, `primary` included, are set on the earlier one, whose
///   identifying sub-attributes keep their spelling), so an add of what is already there changes
///   nothing and a list never holds the same element twice.
fn settle(def: &AttributeDef, items: Vec<(Value, bool)>) -> Vec<Value> {
    let moves_primary = items.iter().any(|(e, written)| *written && is_primary(e));
    let keys = identifying(def);
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for (mut element, written) in items {
        if moves_primary
            && !written
            && is_primary(&element)
            && let Some(m) = element.as_object_mut()
        {
            m.remove("primary");
        }
        match out.iter_mut().find(|e| same_element(&keys, e, &element)) {
            Some(Value::Object(earlier)) => {
                if let Value::Object(later) = element {
                    earlier.extend(
                        later
                            .into_iter()
                            .filter(|(k, _)| !keys.iter().any(|s| &s.name == k)),
                    );
                }
            }
            _ => out.push(element),
        }
    }
    out
}

/// The value of an add or replace, canonicalised for its target; `None` means "clear".
fn target_value(
    def: &AttributeDef,
    value: Option<&Value>,
    shown: &str,
    rewrites: &mut Vec<Rewrite>,
    max: usize,
) -> Result<Option<Value>, InputError> {
    let Some(value) = value else {
        return Err(InputError::invalid_syntax(format!(
            "the operation on {shown:?} needs a \"value\""
        )));
    };
    let value = match value {
        Value::String(s)
            if def.kind == AttrType::Complex
                && def.sub_attribute("value").is_some()
                && !s.is_empty() =>
        {
            rewrites.push(Rewrite::ComplexFromString);
            serde_json::json!({"value": s})
        }
        other => other.clone(),
    };
    if value.is_null() || value == Value::String(String::new()) {
        rewrites.push(Rewrite::EmptyValueClears);
        return Ok(None);
    }
    canonical_value(def, &value, shown, max)
}

/// Applies normalised operations to `doc` (a resource's JSON), returning the new document.
pub fn apply(
    registry: &Registry,
    resource_type: &ResourceTypeDef,
    doc: &Map<String, Value>,
    operations: &[Operation],
    rewrites: &mut Vec<Rewrite>,
) -> Result<Map<String, Value>, InputError> {
    let mut doc = doc.clone();
    for op in operations {
        apply_one(registry, resource_type, &mut doc, op, rewrites)?;
    }
    Ok(doc)
}

fn apply_one(
    registry: &Registry,
    rt: &ResourceTypeDef,
    doc: &mut Map<String, Value>,
    op: &Operation,
    rewrites: &mut Vec<Rewrite>,
) -> Result<(), InputError> {
    let (attr, filter, sub_name) = match &op.path {
        PatchPath::Attr(a) => (a.clone(), None, None),
        PatchPath::Value(vp) => (
            vp.attr.clone(),
            Some(vp.filter.clone()),
            vp.sub_attr.clone(),
        ),
    };
    let max = registry.limits().multi_values;
    let (loc, sub) = locate(registry, rt, &attr)?;
    let sub = match (&sub, &sub_name) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(name)) => Some(loc.def.sub_attribute(name).cloned().ok_or_else(|| {
            invalid_path(format!("\"{}\" has no sub-attribute {name:?}", loc.name))
        })?),
        (None, None) => None,
    };

    // Mutability: readOnly is refused, unless a pathless value merely echoes the current state.
    let target_def = sub.as_ref().unwrap_or(&loc.def);
    let read_only =
        loc.def.mutability == Mutability::ReadOnly || target_def.mutability == Mutability::ReadOnly;
    if read_only {
        let echoes = filter.is_none()
            && sub.is_none()
            && op.value.is_some()
            && op.value.as_ref() == current(doc, &loc);
        if op.from_pathless && echoes {
            return Ok(());
        }
        return Err(mutability(format!(
            "\"{}\" is read-only and cannot be changed",
            op.shown
        )));
    }
    if target_def.mutability == Mutability::WriteOnly && op.kind == OpKind::Remove {
        return Ok(());
    }
    // Immutable: may be set while absent, never changed or removed once it has a value.
    if target_def.mutability == Mutability::Immutable && filter.is_none() && sub.is_none() {
        let existing = current(doc, &loc).filter(|v| !v.is_null());
        let unchanged = op.kind != OpKind::Remove && existing == op.value.as_ref();
        if existing.is_some() && !unchanged {
            return Err(mutability(format!(
                "\"{}\" is immutable: it cannot change once set",
                op.shown
            )));
        }
    }

    match (filter, sub) {
        // `attr` or `urn:…:attr`.
        (None, None) => {
            let slot = container_mut(doc, &loc.container);
            match op.kind {
                OpKind::Remove => {
                    if let (Some(Value::Array(items)), Some(Value::Array(values))) =
                        (slot.get_mut(&loc.name), op.value.as_ref())
                    {
                        // Entra: remove only the listed elements, matched by `value`.
                        rewrites.push(Rewrite::RemoveWithValue);
                        let drop: Vec<&Value> =
                            values.iter().filter_map(|v| v.get("value")).collect();
                        items.retain(|e| !e.get("value").is_some_and(|v| drop.contains(&v)));
                        if items.is_empty() {
                            slot.remove(&loc.name);
                        }
                    } else {
                        slot.remove(&loc.name);
                    }
                }
                OpKind::Add | OpKind::Replace => {
                    let Some(value) =
                        target_value(&loc.def, op.value.as_ref(), &op.shown, rewrites, max)?
                    else {
                        if op.kind == OpKind::Replace || loc.def.kind != AttrType::Complex {
                            slot.remove(&loc.name);
                        }
                        return Ok(());
                    };
                    match (&loc.def, slot.get_mut(&loc.name)) {
                        (def, existing) if def.multi_valued && def.kind == AttrType::Complex => {
                            // An add keeps what is there; a replace starts from nothing. Every
                            // element the operation sends is its own, for the primary rule.
                            let mut items: Vec<(Value, bool)> = match (op.kind, existing) {
                                (OpKind::Add, Some(Value::Array(items))) => {
                                    items.drain(..).map(|e| (e, false)).collect()
                                }
                                (OpKind::Add, Some(single @ Value::Object(_))) => {
                                    vec![(single.take(), false)]
                                }
                                _ => Vec::new(),
                            };
                            if let Value::Array(new) = value {
                                items.extend(new.into_iter().map(|e| (e, true)));
                            }
                            slot.insert(loc.name.clone(), Value::Array(settle(def, items)));
                        }
                        (def, Some(Value::Array(items)))
                            if def.multi_valued && op.kind == OpKind::Add =>
                        {
                            for v in value.as_array().cloned().unwrap_or_default() {
                                if !items.contains(&v) {
                                    items.push(v);
                                }
                            }
                        }
                        (def, Some(Value::Object(existing)))
                            if !def.multi_valued && def.kind == AttrType::Complex =>
                        {
                            // Complex: the sub-attributes given replace theirs; the others stay.
                            if let Value::Object(new) = value {
                                existing.extend(new);
                            }
                        }
                        _ => {
                            slot.insert(loc.name.clone(), value);
                        }
                    }
                }
            }
        }
        // `attr.sub` on a single-valued complex attribute (or every element of a multi-valued one).
        (None, Some(sub)) => {
            let slot = container_mut(doc, &loc.container);
            if loc.def.multi_valued {
                if op.kind != OpKind::Remove {
                    return Err(invalid_path(format!(
                        "\"{}\" is multi-valued: name the element with a filter, as in {}[type eq \"work\"].{}",
                        loc.name, loc.name, sub.name
                    )));
                }
                if let Some(Value::Array(items)) = slot.get_mut(&loc.name) {
                    items.iter_mut().for_each(|e| {
                        if let Some(m) = e.as_object_mut() {
                            m.remove(&sub.name);
                        }
                    });
                }
                return Ok(());
            }
            let value = match op.kind {
                OpKind::Remove => None,
                _ => target_value(&sub, op.value.as_ref(), &op.shown, rewrites, max)?,
            };
            let entry = slot
                .entry(loc.name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(obj) = entry {
                match value {
                    Some(v) => {
                        obj.insert(sub.name.clone(), v);
                    }
                    None => {
                        obj.remove(&sub.name);
                    }
                }
                if obj.is_empty() {
                    slot.remove(&loc.name);
                }
            }
        }
        // `attr[filter]` or `attr[filter].sub`.
        (Some(filter), sub) => {
            if loc.def.kind != AttrType::Complex {
                return Err(invalid_path(format!(
                    "\"{}\" takes no [filter]: it is not complex",
                    loc.name
                )));
            }
            let value = match (op.kind, &sub) {
                (OpKind::Remove, _) => None,
                (_, Some(s)) => target_value(s, op.value.as_ref(), &op.shown, rewrites, max)?,
                (_, None) => {
                    let mut single = loc.def.clone();
                    single.multi_valued = false;
                    target_value(&single, op.value.as_ref(), &op.shown, rewrites, max)?
                }
            };
            let slot = container_mut(doc, &loc.container);
            let parent = loc.def.clone();
            let mut items: Vec<Value> = match slot.remove(&loc.name) {
                Some(Value::Array(items)) => items,
                Some(single @ Value::Object(_)) => vec![single],
                _ => Vec::new(),
            };
            // Clearing (or removing) the `value` of filtered elements of a multi-valued attribute
            // removes those elements: an element is its value (Entra's null update of
            // `phoneNumbers[type eq "mobile"].value`).
            let drops_element = parent.multi_valued
                && sub.as_ref().is_some_and(|s| s.name == "value")
                && value.is_none();
            // Each element kept, and whether this operation wrote it (for the primary rule).
            let mut kept: Vec<(Value, bool)> = Vec::with_capacity(items.len());
            let mut matched = false;
            for mut element in items.drain(..) {
                if !element_matches(&filter, &element, &parent)? {
                    kept.push((element, false));
                    continue;
                }
                matched = true;
                if drops_element {
                    continue;
                }
                match (op.kind, &sub, &value) {
                    (OpKind::Remove, None, _) => continue,
                    (OpKind::Remove, Some(s), _) | (_, Some(s), None) => {
                        if let Some(m) = element.as_object_mut() {
                            m.remove(&s.name);
                        }
                    }
                    (_, Some(s), Some(v)) => {
                        if let Some(m) = element.as_object_mut() {
                            m.insert(s.name.clone(), v.clone());
                        }
                    }
                    (OpKind::Replace, None, Some(v)) => element = v.clone(),
                    (_, None, Some(Value::Object(v))) => {
                        if let Some(m) = element.as_object_mut() {
                            m.extend(v.clone());
                        }
                    }
                    (_, None, _) => continue,
                }
                kept.push((element, op.kind != OpKind::Remove));
            }
            // Entra adds and replaces values of elements that do not exist yet: create the element.
            // A clear ("" or null) of an element that does not exist has nothing to clear, so it
            // creates nothing (the validator's null update of an attribute never set).
            if !matched && op.kind != OpKind::Remove && value.is_some() {
                let mut element = Map::new();
                if !element_from_filter(&filter, &parent, &mut element) {
                    return Err(no_target(format!(
                        "no element of \"{}\" matches {:?}",
                        loc.name, op.shown
                    )));
                }
                match (&sub, value) {
                    (Some(s), Some(v)) => {
                        element.insert(s.name.clone(), v);
                    }
                    (None, Some(Value::Object(v))) => element.extend(v),
                    _ => {}
                }
                rewrites.push(Rewrite::CreateOnValuePath);
                kept.push((Value::Object(element), true));
            }
            kept.retain(|(e, _)| !matches!(e, Value::Object(m) if m.is_empty()));
            if !kept.is_empty() {
                let stored = if parent.multi_valued {
                    Value::Array(settle(&parent, kept))
                } else {
                    kept.into_iter().next().expect("non-empty").0
                };
                slot.insert(loc.name.clone(), stored);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";

    fn patch(doc: Value, body: Value) -> Result<(Value, Vec<Rewrite>), InputError> {
        let registry = Registry::embedded();
        let rt = registry.resource_type("User").unwrap().clone();
        let mut rewrites = Vec::new();
        let ops = normalize(&registry, &rt, &body, &mut rewrites)?;
        let out = apply(
            &registry,
            &rt,
            doc.as_object().unwrap(),
            &ops,
            &mut rewrites,
        )?;
        Ok((Value::Object(out), rewrites))
    }

    fn ops(list: Value) -> Value {
        json!({"schemas": [urn::PATCH_OP], "Operations": list})
    }

    fn base() -> Value {
        json!({"id": "u1", "userName": "ann", "name": {"givenName": "Ann", "familyName": "Lee"},
               "emails": [{"value": "a@x", "type": "work", "primary": true}, {"value": "a@home", "type": "home"}],
               "active": true})
    }

    #[test]
    fn rfc_add_replace_remove() {
        let (d, _) = patch(base(), ops(json!([{"op": "add", "path": "emails", "value": [{"value": "b@x", "type": "other"}]}]))).unwrap();
        assert_eq!(d["emails"].as_array().unwrap().len(), 3, "add appends");
        let (d, _) = patch(
            base(),
            ops(json!([{"op": "replace", "path": "emails", "value": [{"value": "b@x"}]}])),
        )
        .unwrap();
        assert_eq!(d["emails"], json!([{"value": "b@x"}]), "replace replaces");
        let (d, _) = patch(
            base(),
            ops(json!([{"op": "replace", "path": "name", "value": {"givenName": "Anne"}}])),
        )
        .unwrap();
        assert_eq!(
            d["name"],
            json!({"givenName": "Anne", "familyName": "Lee"}),
            "complex merges"
        );
        let (d, _) = patch(
            base(),
            ops(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])),
        )
        .unwrap();
        assert_eq!(d["emails"].as_array().unwrap().len(), 1);
        let (d, _) = patch(base(), ops(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@x"}]))).unwrap();
        assert_eq!(d["emails"][0]["value"], "w@x");
        let (d, _) = patch(
            base(),
            ops(json!([{"op": "remove", "path": "name.givenName"}])),
        )
        .unwrap();
        assert_eq!(d["name"], json!({"familyName": "Lee"}));
        let (d, _) = patch(base(), ops(json!([{"op": "add", "path": "emails", "value": [{"value": "p@x", "primary": true}]}]))).unwrap();
        assert_eq!(
            d["emails"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["primary"] == true)
                .count(),
            1,
            "one primary"
        );
    }

    #[test]
    fn dialects_are_recognised_and_reported() {
        let (d, r) = patch(
            base(),
            ops(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .unwrap();
        assert_eq!(d["active"], false);
        assert!(r.contains(&Rewrite::CapitalisedOp));
        let (d, r) = patch(base(), ops(json!([{"op": "add", "value": {"name.givenName": "Oswaldo", "emails[type eq \"other\"].value": "o@x"}}]))).unwrap();
        assert_eq!(d["name"]["givenName"], "Oswaldo");
        assert!(
            d["emails"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e == &json!({"type": "other", "value": "o@x"}))
        );
        assert!(r.contains(&Rewrite::PathlessKeyIsPath) && r.contains(&Rewrite::CreateOnValuePath));
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let (d, r) = patch(
            base(),
            ops(json!([{"op": "replace", "path": format!("{ent}:manager"), "value": "m1"}])),
        )
        .unwrap();
        assert_eq!(d[ent]["manager"], json!({"value": "m1"}));
        assert!(r.contains(&Rewrite::ComplexFromString));
        let (d, _) = patch(
            d,
            ops(json!([{"op": "remove", "path": format!("{ent}:manager[value eq \"m1\"]")}])),
        )
        .unwrap();
        assert!(d[ent].get("manager").is_none());
        let (d, r) = patch(
            base(),
            ops(json!([{"op": "replace", "path": "name.givenName", "value": ""}])),
        )
        .unwrap();
        assert!(d["name"].get("givenName").is_none() && r.contains(&Rewrite::EmptyValueClears));
        let (d, _) = patch(
            base(),
            ops(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .unwrap();
        assert_eq!(d["active"], false, "Okta's deactivation");
        let (d, r) = patch(
            base(),
            ops(json!([{"op": "Remove", "path": "emails", "value": [{"value": "a@home"}]}])),
        )
        .unwrap();
        assert_eq!(d["emails"].as_array().unwrap().len(), 1);
        assert!(r.contains(&Rewrite::RemoveWithValue));
    }

    #[test]
    fn immutable_attributes_are_set_once() {
        let registry = Registry::embedded();
        let mut rt = registry.resource_type("User").unwrap().clone();
        // No User attribute is immutable: check the rule on a copy of the schema that makes one so.
        let mut schema = registry.schema(&rt.schema).unwrap().clone();
        schema
            .attributes
            .iter_mut()
            .find(|a| a.name == "nickName")
            .unwrap()
            .mutability = Mutability::Immutable;
        let registry = registry.with_schema(schema);
        rt.extensions.clear();
        let run = |doc: Value, list: Value| {
            let mut rewrites = Vec::new();
            let ops = normalize(&registry, &rt, &ops(list), &mut rewrites)?;
            apply(
                &registry,
                &rt,
                doc.as_object().unwrap(),
                &ops,
                &mut rewrites,
            )
            .map(Value::Object)
        };
        assert!(
            run(
                base(),
                json!([{"op": "add", "path": "nickName", "value": "Babs"}])
            )
            .is_ok(),
            "set while absent"
        );
        let set = json!({"id": "u1", "nickName": "Babs"});
        assert!(
            run(
                set.clone(),
                json!([{"op": "replace", "path": "nickName", "value": "Babs"}])
            )
            .is_ok(),
            "same value"
        );
        for change in [
            json!([{"op": "replace", "path": "nickName", "value": "B"}]),
            json!([{"op": "remove", "path": "nickName"}]),
        ] {
            assert_eq!(
                run(set.clone(), change).unwrap_err().scim_type,
                ScimType::Mutability
            );
        }
    }

    #[test]
    fn read_only_and_malformed_requests_are_refused() {
        let err = patch(
            base(),
            ops(json!([{"op": "replace", "path": "id", "value": "u2"}])),
        )
        .unwrap_err();
        assert_eq!(err.scim_type, ScimType::Mutability);
        let (d, _) = patch(
            base(),
            ops(json!([{"op": "replace", "value": {"id": "u1", "userName": "ann2"}}])),
        )
        .unwrap();
        assert_eq!(d["userName"], "ann2", "an echoed id is ignored");
        let err = patch(
            base(),
            ops(json!([{"op": "replace", "value": {"id": "other"}}])),
        )
        .unwrap_err();
        assert_eq!(err.scim_type, ScimType::Mutability);
        assert_eq!(
            patch(base(), ops(json!([]))).unwrap_err().scim_type,
            ScimType::InvalidValue
        );
        assert_eq!(
            patch(base(), ops(json!([{"op": "remove"}])))
                .unwrap_err()
                .scim_type,
            ScimType::NoTarget
        );
        assert_eq!(
            patch(base(), ops(json!([{"op": "move", "path": "title"}])))
                .unwrap_err()
                .scim_type,
            ScimType::InvalidSyntax
        );
        assert_eq!(
            patch(
                base(),
                ops(json!([{"op": "add", "path": "emails[", "value": 1}]))
            )
            .unwrap_err()
            .scim_type,
            ScimType::InvalidPath
        );
        assert_eq!(
            patch(
                base(),
                ops(json!([{"op": "add", "path": "nope", "value": 1}]))
            )
            .unwrap_err()
            .scim_type,
            ScimType::InvalidPath
        );
        let err = patch(
            base(),
            ops(
                json!([{"op": "replace", "path": "emails[type eq \"work\" or type eq \"home\"].value", "value": "x"}]),
            ),
        );
        assert!(err.is_ok(), "several matches are all replaced");
    }

    fn primaries(d: &Value, attr: &str) -> Vec<String> {
        d[attr]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["primary"] == true)
            .map(|e| e["value"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn setting_primary_moves_it() {
        // Through a value path: B becomes primary, A stops being.
        let (d, _) = patch(base(), ops(json!([{"op": "replace", "path": "emails[value eq \"a@home\"].primary", "value": true}]))).unwrap();
        assert_eq!(primaries(&d, "emails"), ["a@home"]);
        assert_eq!(d["emails"].as_array().unwrap().len(), 2);
        // Entra's "True", and add instead of replace.
        let (d, _) = patch(
            base(),
            ops(
                json!([{"op": "Add", "path": "emails[type eq \"home\"].primary", "value": "True"}]),
            ),
        )
        .unwrap();
        assert_eq!(primaries(&d, "emails"), ["a@home"]);
        // A whole element through a value path.
        let (d, _) = patch(base(), ops(json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "a@home", "type": "home", "primary": true}}]))).unwrap();
        assert_eq!(primaries(&d, "emails"), ["a@home"]);
        // An add of a new primary element, with and without a path, and a created element.
        let (d, _) = patch(base(), ops(json!([{"op": "add", "path": "emails", "value": [{"value": "n@x", "primary": true}]}]))).unwrap();
        assert_eq!(primaries(&d, "emails"), ["n@x"]);
        let (d, _) = patch(
            base(),
            ops(json!([{"op": "add", "value": {"emails": [{"value": "n@x", "primary": true}]}}])),
        )
        .unwrap();
        assert_eq!(primaries(&d, "emails"), ["n@x"]);
        let (d, _) = patch(base(), ops(json!([{"op": "add", "path": "emails[type eq \"other\"]", "value": {"value": "o@x", "primary": true}}]))).unwrap();
        assert_eq!(primaries(&d, "emails"), ["o@x"]);
        // The same rule on every multi-valued attribute with `primary`.
        let doc = json!({"id": "u1", "phoneNumbers": [{"value": "+1", "primary": true}, {"value": "+2"}],
            "roles": [{"value": "r1", "primary": true}, {"value": "r2"}],
            "addresses": [{"type": "work", "locality": "Ghent", "primary": true}, {"type": "home", "locality": "Bruges"}],
            MT: {"stores": [{"refId": "S1", "primary": true}, {"refId": "S2"}]}});
        let (d, _) = patch(doc, ops(json!([
            {"op": "replace", "path": "phoneNumbers[value eq \"+2\"].primary", "value": true},
            {"op": "replace", "path": "roles[value eq \"r2\"].primary", "value": true},
            {"op": "replace", "path": "addresses[type eq \"home\"].primary", "value": true},
            {"op": "replace", "path": format!("{MT}:stores[refId eq \"S2\"].primary"), "value": true}]))).unwrap();
        assert_eq!(primaries(&d, "phoneNumbers"), ["+2"]);
        assert_eq!(primaries(&d, "roles"), ["r2"]);
        let home: Vec<&Value> = d["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["primary"] == true)
            .collect();
        assert_eq!(
            home,
            [&json!({"type": "home", "locality": "Bruges", "primary": true})]
        );
        let stores = d[MT]["stores"].as_array().unwrap();
        assert_eq!(
            stores,
            &[
                json!({"refId": "S1"}),
                json!({"refId": "S2", "primary": true})
            ]
        );
        // A request that itself marks two elements primary is left as sent, for the rules to refuse.
        let (d, _) = patch(base(), ops(json!([{"op": "replace", "path": "emails", "value": [{"value": "p@x", "primary": true}, {"value": "q@x", "primary": true}]}]))).unwrap();
        assert_eq!(primaries(&d, "emails"), ["p@x", "q@x"]);
        let (d, _) = patch(base(), ops(json!([{"op": "replace", "path": "emails[type eq \"work\" or type eq \"home\"].primary", "value": true}]))).unwrap();
        assert_eq!(primaries(&d, "emails"), ["a@x", "a@home"]);
        // Writing a non-primary element does not move primary.
        let (d, _) = patch(base(), ops(json!([{"op": "replace", "path": "emails[type eq \"home\"].display", "value": "Home"}]))).unwrap();
        assert_eq!(primaries(&d, "emails"), ["a@x"]);
    }

    #[test]
    fn an_element_already_there_is_not_added_again() {
        // Same value (by the attribute's case rule) and type: nothing changes.
        for dup in [
            json!({"value": "a@x", "type": "work"}),
            json!({"value": "A@X", "type": "Work"}),
            json!({"value": "a@x", "type": "work", "primary": true}),
        ] {
            let (d, _) = patch(
                base(),
                ops(json!([{"op": "add", "path": "emails", "value": [dup.clone()]}])),
            )
            .unwrap();
            assert_eq!(d, base(), "{dup}");
        }
        // Another type is another element.
        let (d, _) = patch(base(), ops(json!([{"op": "add", "path": "emails", "value": [{"value": "a@x", "type": "other"}]}]))).unwrap();
        assert_eq!(d["emails"].as_array().unwrap().len(), 3);
        // A duplicate carrying primary makes the existing element primary; other sub-attributes merge.
        let (d, _) = patch(base(), ops(json!([{"op": "add", "path": "emails", "value": [{"value": "a@home", "type": "home", "primary": true, "display": "Home"}]}]))).unwrap();
        assert_eq!(
            d["emails"],
            json!([{"value": "a@x", "type": "work"},
            {"value": "a@home", "type": "home", "primary": true, "display": "Home"}])
        );
        // A list with the same element twice is stored once (replace and add of an absent attribute).
        let twice = json!([{"value": "p@x", "type": "work"}, {"value": "P@x", "type": "work", "primary": true}]);
        let (d, _) = patch(
            base(),
            ops(json!([{"op": "replace", "path": "emails", "value": twice.clone()}])),
        )
        .unwrap();
        assert_eq!(
            d["emails"],
            json!([{"value": "p@x", "type": "work", "primary": true}])
        );
        let (d, _) = patch(
            json!({"id": "u1"}),
            ops(json!([{"op": "add", "path": "emails", "value": twice}])),
        )
        .unwrap();
        assert_eq!(
            d["emails"],
            json!([{"value": "p@x", "type": "work", "primary": true}])
        );
        // Stores are identified by refId (case-exact): the same ref id is the same store.
        let doc = json!({"id": "u1", MT: {"stores": [{"refId": "S1", "name": "Ghent"}]}});
        let (d, _) = patch(doc.clone(), ops(json!([{"op": "add", "path": format!("{MT}:stores"), "value": [{"refId": "S1", "name": "Ghent"}]}]))).unwrap();
        assert_eq!(d, doc);
        let (d, _) = patch(
            doc,
            ops(json!([{"op": "add", "path": format!("{MT}:stores"), "value": [{"refId": "s1"}]}])),
        )
        .unwrap();
        assert_eq!(d[MT]["stores"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn clearing_what_does_not_exist_changes_nothing() {
        for op in ["replace", "add"] {
            for clear in [json!(""), json!(null)] {
                let (d, _) = patch(base(), ops(json!([{"op": op, "path": "emails[type eq \"other\"].display", "value": clear}]))).unwrap();
                assert_eq!(d, base(), "{op} {clear}");
                let (d, _) = patch(base(), ops(json!([{"op": op, "path": "phoneNumbers[type eq \"mobile\"].value", "value": clear}]))).unwrap();
                assert_eq!(d, base(), "{op} {clear} on an absent attribute");
            }
        }
        // A value still creates the element (Entra's create on absent).
        let (d, _) = patch(base(), ops(json!([{"op": "replace", "path": "emails[type eq \"other\"].display", "value": "O"}]))).unwrap();
        assert_eq!(d["emails"][2], json!({"type": "other", "display": "O"}));
    }

    #[test]
    fn a_whole_extension_as_the_path() {
        const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let mut doc = base();
        doc[ENT] = json!({"department": "Sales", "costCenter": "C1"});
        let (d, _) = patch(doc.clone(), ops(json!([{"op": "add", "path": ENT, "value": {"division": "D", "department": "Ops", "schemas": [ENT]}}]))).unwrap();
        assert_eq!(
            d[ENT],
            json!({"department": "Ops", "costCenter": "C1", "division": "D"})
        );
        let (d, _) = patch(doc.clone(), ops(json!([{"op": "replace", "path": ENT.to_uppercase(), "value": {"costCenter": "C2"}}]))).unwrap();
        assert_eq!(d[ENT], json!({"department": "Sales", "costCenter": "C2"}));
        let (d, _) = patch(doc.clone(), ops(json!([{"op": "remove", "path": ENT}]))).unwrap();
        assert!(d.get(ENT).is_none_or(|e| e == &json!({})), "{d}");
        // Read-only attributes of an extension stay; an echo of one is ignored.
        doc[MT] = json!({"origin": "scim", "companyId": "X"});
        let (d, _) = patch(doc.clone(), ops(json!([{"op": "remove", "path": MT}]))).unwrap();
        assert_eq!(d[MT], json!({"origin": "scim"}));
        let (d, _) = patch(doc.clone(), ops(json!([{"op": "replace", "path": MT, "value": {"origin": "scim", "companyId": "Y"}}]))).unwrap();
        assert_eq!(d[MT], json!({"origin": "scim", "companyId": "Y"}));
        let err = patch(doc, ops(json!([{"op": "add", "path": MT, "value": "x"}]))).unwrap_err();
        assert_eq!(err.scim_type, ScimType::InvalidSyntax);
    }

    #[test]
    fn clearing_a_filtered_value_removes_the_element() {
        let with_phones = || {
            let mut d = base();
            d["phoneNumbers"] = json!([{"value": "+32 470 12 34 56", "type": "mobile"}, {"value": "+32 9 123 45 67", "type": "work"}]);
            d
        };
        let only_work = json!([{"value": "+32 9 123 45 67", "type": "work"}]);
        for (op, value) in [
            ("Replace", json!("")),
            ("replace", json!(null)),
            ("add", json!("")),
        ] {
            let (d, _) = patch(with_phones(), ops(json!([{"op": op, "path": "phoneNumbers[type eq \"mobile\"].value", "value": value}]))).unwrap();
            assert_eq!(d["phoneNumbers"], only_work, "{op} {value}");
        }
        let (d, _) = patch(
            with_phones(),
            ops(json!([{"op": "remove", "path": "phoneNumbers[type eq \"mobile\"].value"}])),
        )
        .unwrap();
        assert_eq!(d["phoneNumbers"], only_work);
        // Every matching element goes; the last one takes the attribute with it.
        let (d, _) = patch(base(), ops(json!([{"op": "remove", "path": "emails[value ew \"x\" or type eq \"home\"].value"}]))).unwrap();
        assert!(d.get("emails").is_none(), "{d}");
        // Any multi-valued attribute; another sub-attribute is still cleared alone.
        let (d, _) = patch(
            base(),
            ops(json!([{"op": "replace", "path": "emails[type eq \"home\"].type", "value": ""}])),
        )
        .unwrap();
        assert_eq!(d["emails"][1], json!({"value": "a@home"}));
        let mut with_roles = base();
        with_roles["roles"] = json!([{"value": "user"}, {"value": "manager"}]);
        let (d, _) = patch(with_roles, ops(json!([{"op": "replace", "path": "roles[value eq \"manager\"].value", "value": null}]))).unwrap();
        assert_eq!(d["roles"], json!([{"value": "user"}]));
    }

    #[test]
    fn an_add_of_what_is_there_gives_the_same_document() {
        // The caller stores nothing when the result equals the current document (RFC 7644 §3.5.2.1).
        for list in [
            json!([{"op": "add", "path": "active", "value": true}]),
            json!([{"op": "Add", "path": "active", "value": "True"}]),
            json!([{"op": "add", "path": "name.givenName", "value": "Ann"}]),
            json!([{"op": "add", "value": {"userName": "ann", "emails": [{"value": "a@home", "type": "home"}]}}]),
            json!([{"op": "add", "path": "emails[type eq \"work\"].primary", "value": true}]),
        ] {
            let (d, _) = patch(base(), ops(list.clone())).unwrap();
            assert_eq!(d, base(), "{list}");
        }
    }
}
