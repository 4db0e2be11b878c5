//! Bulk (RFC 7644 §3.7), the protocol part: a `BulkRequest` read into operations (method, target
//! resource, `bulkId`, `data`, `version`), the `bulkId:` references each one makes, the order that
//! runs every operation after those whose resources it references (a group created before the
//! users it lists still works), the operations that can never run (a circular chain, an unknown
//! `bulkId`), and the substitution of created ids for `bulkId:` references. Running them is the
//! SCIM endpoint kit's, one operation at a time.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::error::InputError;
use super::urn;

/// What a reference to another operation's resource starts with (`bulkId:qwerty`).
pub const BULK_ID_PREFIX: &str = "bulkId:";

/// The HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Creates a resource (needs a `bulkId`).
    Post,
    /// Replaces a resource.
    Put,
    /// Patches a resource.
    Patch,
    /// Deletes a resource.
    Delete,
}

impl Method {
    /// The method as sent in a result.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// The resource endpoints an operation may address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// `/Users`.
    Users,
    /// `/Groups`.
    Groups,
}

impl Collection {
    /// The endpoint's path (`/Users`).
    pub fn path(self) -> &'static str {
        match self {
            Collection::Users => "/Users",
            Collection::Groups => "/Groups",
        }
    }
}

/// One operation, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The method.
    pub method: Method,
    /// The endpoint.
    pub collection: Collection,
    /// The resource of a PUT, PATCH or DELETE: an id, or a `bulkId:` reference.
    pub target: Option<String>,
    /// The body of a POST, PUT or PATCH.
    pub data: Option<Value>,
    /// The `version` (an `ETag`), the operation's `If-Match`.
    pub version: Option<String>,
}

/// One entry of `Operations`: what its result repeats (method and `bulkId` as sent), and the
/// operation, or why it cannot be read.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The `method` as sent (upper-cased), for the result.
    pub method: String,
    /// The `bulkId`, if sent.
    pub bulk_id: Option<String>,
    /// The operation, or the 400 of a malformed one.
    pub operation: Result<Operation, InputError>,
}

/// A `BulkRequest`, read.
#[derive(Debug, Clone)]
pub struct BulkRequest {
    /// How many failed operations end the request (`failOnErrors`); `None`: never.
    pub fail_on_errors: Option<u64>,
    /// The operations, in the order sent.
    pub entries: Vec<Entry>,
}

/// Why a `BulkRequest` is refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// More operations than `maxOperations` (a 413).
    TooMany {
        /// How many were sent.
        sent: usize,
        /// The limit.
        max: usize,
    },
    /// Not a `BulkRequest` (a 400).
    Input(InputError),
}

impl From<InputError> for Refusal {
    fn from(e: InputError) -> Self {
        Refusal::Input(e)
    }
}

/// The value of `key` in `obj`, matched case-insensitively (attribute names are, RFC 7643 §2.1).
fn field<'v>(obj: &'v serde_json::Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

impl BulkRequest {
    /// Reads a `BulkRequest` body. The number of operations is checked before any of them is read;
    /// a malformed operation is that operation's 400, not the request's.
    pub fn parse(body: &Value, max_operations: usize) -> Result<Self, Refusal> {
        let obj = body.as_object().ok_or_else(|| {
            InputError::invalid_syntax("a BulkRequest is a JSON object with \"Operations\"")
        })?;
        let named = field(obj, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(urn::BULK_REQUEST)));
        if !named {
            return Err(InputError::invalid_syntax(format!(
                "a BulkRequest's \"schemas\" must be [\"{}\"]",
                urn::BULK_REQUEST
            ))
            .into());
        }
        let operations = field(obj, "Operations")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                InputError::invalid_syntax("a BulkRequest needs \"Operations\", an array")
            })?;
        if operations.len() > max_operations {
            return Err(Refusal::TooMany {
                sent: operations.len(),
                max: max_operations,
            });
        }
        let fail_on_errors = match field(obj, "failOnErrors") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => Some(n),
                _ => {
                    return Err(InputError::invalid_value(format!(
                        "\"failOnErrors\" is a whole number of at least 1, not {v}"
                    ))
                    .into());
                }
            },
        };
        let entries: Vec<Entry> = operations.iter().map(read_entry).collect();
        let mut seen = BTreeSet::new();
        for id in entries.iter().filter_map(|e| e.bulk_id.as_deref()) {
            if !seen.insert(id) {
                return Err(InputError::invalid_value(format!(
                    "the bulkId {id:?} names two operations; each bulkId must be unique in a request"
                ))
                .into());
            }
        }
        Ok(Self {
            fail_on_errors,
            entries,
        })
    }
}

/// Reads one entry of `Operations`.
fn read_entry(raw: &Value) -> Entry {
    let obj = raw.as_object();
    let text = |key: &str| {
        obj.and_then(|o| field(o, key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let method = text("method").unwrap_or_default().to_ascii_uppercase();
    let bulk_id = text("bulkId");
    let operation = read_operation(raw, &method, bulk_id.as_deref());
    Entry {
        method,
        bulk_id,
        operation,
    }
}

fn read_operation(
    raw: &Value,
    method: &str,
    bulk_id: Option<&str>,
) -> Result<Operation, InputError> {
    let obj = raw
        .as_object()
        .ok_or_else(|| InputError::invalid_syntax("each operation is a JSON object"))?;
    let method = match method {
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        other => {
            return Err(InputError::invalid_value(format!(
                "an operation's \"method\" is POST, PUT, PATCH or DELETE, not {other:?}"
            )));
        }
    };
    if let Some(id) = bulk_id
        && (id.is_empty() || id.len() > 200)
    {
        return Err(InputError::invalid_value(
            "a \"bulkId\" is between 1 and 200 characters",
        ));
    }
    if method == Method::Post && bulk_id.is_none() {
        return Err(InputError::invalid_value(
            "a POST operation needs a \"bulkId\" (RFC 7644 §3.7)",
        ));
    }
    let path = field(obj, "path")
        .and_then(Value::as_str)
        .ok_or_else(|| InputError::invalid_value("an operation needs a \"path\" (\"/Users\")"))?;
    let (collection, target) = read_path(path)?;
    match (method, &target) {
        (Method::Post, Some(_)) => {
            return Err(InputError::invalid_value(format!(
                "a POST operation's \"path\" is the endpoint (\"{}\"), not {path:?}",
                collection.path()
            )));
        }
        (Method::Put | Method::Patch | Method::Delete, None) => {
            return Err(InputError::invalid_value(format!(
                "a {} operation's \"path\" names one resource (\"{}/<id>\"), not {path:?}",
                method.as_str(),
                collection.path()
            )));
        }
        _ => {}
    }
    let data = field(obj, "data").filter(|d| !d.is_null()).cloned();
    if method != Method::Delete && !data.as_ref().is_some_and(Value::is_object) {
        return Err(InputError::invalid_syntax(format!(
            "a {} operation needs \"data\", a JSON object",
            method.as_str()
        )));
    }
    let version = match field(obj, "version") {
        None | Some(Value::Null) => None,
        Some(Value::String(v)) => Some(v.clone()),
        Some(other) => {
            return Err(InputError::invalid_value(format!(
                "an operation's \"version\" is an ETag string (W/\"3\"), not {other}"
            )));
        }
    };
    Ok(Operation {
        method,
        collection,
        target,
        data,
        version,
    })
}

/// Reads an operation's `path`: `/Users`, `/Groups`, or one resource of them.
fn read_path(path: &str) -> Result<(Collection, Option<String>), InputError> {
    let refuse = || {
        InputError::invalid_value(format!(
            "an operation's \"path\" is /Users, /Groups, /Users/<id> or /Groups/<id>, not {path:?}"
        ))
    };
    let mut parts = path.strip_prefix('/').ok_or_else(refuse)?.splitn(2, '/');
    let collection = match parts.next() {
        Some("Users") => Collection::Users,
        Some("Groups") => Collection::Groups,
        _ => return Err(refuse()),
    };
    match parts.next() {
        None => Ok((collection, None)),
        Some(id) if !id.is_empty() && !id.contains(['/', '?', '#']) => {
            Ok((collection, Some(id.to_owned())))
        }
        Some(_) => Err(refuse()),
    }
}

impl Operation {
    /// The `bulkId`s this operation references (in its path and anywhere in its data), each once.
    pub fn references(&self) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        if let Some(id) = self.target.as_deref().and_then(reference) {
            found.insert(id.to_owned());
        }
        if let Some(data) = &self.data {
            collect_references(data, &mut found);
        }
        found
    }

    /// Replaces every `bulkId:` reference with the id `created` holds for it; `Err` names the
    /// first reference it does not hold.
    pub fn resolve(&mut self, created: &HashMap<String, String>) -> Result<(), String> {
        if let Some(target) = &mut self.target {
            substitute(target, created)?;
        }
        if let Some(data) = &mut self.data {
            resolve_value(data, created)?;
        }
        Ok(())
    }
}

/// The `bulkId` a string references, if it is a reference.
fn reference(s: &str) -> Option<&str> {
    s.strip_prefix(BULK_ID_PREFIX).filter(|id| !id.is_empty())
}

fn collect_references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = reference(s) {
                found.insert(id.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, found)),
        Value::Object(map) => map.values().for_each(|v| collect_references(v, found)),
        _ => {}
    }
}

fn substitute(s: &mut String, created: &HashMap<String, String>) -> Result<(), String> {
    if let Some(id) = reference(s) {
        let resolved = created.get(id).ok_or_else(|| id.to_owned())?;
        *s = resolved.clone();
    }
    Ok(())
}

fn resolve_value(value: &mut Value, created: &HashMap<String, String>) -> Result<(), String> {
    match value {
        Value::String(s) => substitute(s, created),
        Value::Array(items) => items.iter_mut().try_for_each(|v| resolve_value(v, created)),
        Value::Object(map) => map.values_mut().try_for_each(|v| resolve_value(v, created)),
        _ => Ok(()),
    }
}

/// Why an operation cannot run, known before any runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// It references a `bulkId` no operation of the request declares.
    Unknown(String),
    /// It is part of, or depends on, a circular chain of references (these operations).
    Circular(Vec<String>),
}

/// The order to run a request's operations in, and those that cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Indexes into the request's entries: every operation after those it references; otherwise
    /// in the order sent. Blocked operations come where they stand, to be answered as failed.
    pub order: Vec<usize>,
    /// The operations that cannot run, by index.
    pub blocked: HashMap<usize, Blocked>,
}

/// Orders the entries so each runs after the operations whose `bulkId`s it references (a
/// topological order that keeps the request's order wherever the references allow).
pub fn plan(entries: &[Entry]) -> Plan {
    let declared: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(&e.operation, Ok(op) if op.method == Method::Post))
        .filter_map(|(i, e)| e.bulk_id.as_deref().map(|id| (id, i)))
        .collect();
    let mut blocked = HashMap::new();
    let mut depends: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); entries.len()];
    for (i, entry) in entries.iter().enumerate() {
        let Ok(op) = &entry.operation else { continue };
        for id in op.references() {
            match declared.get(id.as_str()) {
                Some(&j) => {
                    depends[i].insert(j);
                }
                None => {
                    blocked.entry(i).or_insert(Blocked::Unknown(id));
                }
            }
        }
    }
    // Kahn's algorithm, always taking the first ready operation in request order.
    let mut waiting: Vec<usize> = depends.iter().map(BTreeSet::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); entries.len()];
    for (i, deps) in depends.iter().enumerate() {
        for &j in deps {
            dependents[j].push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..entries.len()).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(entries.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &k in &dependents[i] {
            waiting[k] -= 1;
            if waiting[k] == 0 {
                ready.insert(k);
            }
        }
    }
    let stuck: Vec<usize> = (0..entries.len()).filter(|&i| waiting[i] > 0).collect();
    let chain: Vec<String> = stuck
        .iter()
        .filter_map(|&i| entries[i].bulk_id.clone())
        .collect();
    for &i in &stuck {
        blocked.insert(i, Blocked::Circular(chain.clone()));
        order.push(i);
    }
    Plan { order, blocked }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(ops: Value) -> BulkRequest {
        BulkRequest::parse(
            &json!({"schemas": [urn::BULK_REQUEST], "Operations": ops}),
            100,
        )
        .unwrap()
    }

    #[test]
    fn a_group_listing_users_created_later_runs_after_them() {
        let req = request(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"displayName": "G", "members": [{"value": "bulkId:a"}, {"value": "bulkId:b"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "a"}},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "b"}},
            {"method": "DELETE", "path": "/Users/x"},
        ]));
        let plan = plan(&req.entries);
        assert_eq!(plan.order, vec![1, 2, 0, 3]);
        assert!(plan.blocked.is_empty());
    }

    #[test]
    fn cycles_and_unknown_references_are_blocked() {
        let req = request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "a",
             "data": {"manager": {"value": "bulkId:b"}}},
            {"method": "POST", "path": "/Users", "bulkId": "b",
             "data": {"manager": {"value": "bulkId:a"}}},
            {"method": "PATCH", "path": "/Groups/bulkId:nope", "data": {"Operations": []}},
            {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "c"}},
        ]));
        let plan = plan(&req.entries);
        assert_eq!(plan.order, vec![2, 3, 0, 1]);
        assert_eq!(plan.blocked[&2], Blocked::Unknown("nope".into()));
        assert!(matches!(&plan.blocked[&0], Blocked::Circular(c) if c.len() == 2));
        assert!(!plan.blocked.contains_key(&3));
    }

    #[test]
    fn references_are_replaced_everywhere_an_id_stands() {
        let req = request(json!([
            {"method": "PATCH", "path": "/Groups/bulkId:g",
             "data": {"Operations": [{"op": "Add", "path": "members", "value": [{"value": "bulkId:u"}]}]}},
        ]));
        let mut op = req.entries[0].operation.clone().unwrap();
        assert_eq!(
            op.references().into_iter().collect::<Vec<_>>(),
            vec!["g".to_owned(), "u".to_owned()]
        );
        let created = HashMap::from([("g".to_owned(), "G1".to_owned())]);
        assert_eq!(op.resolve(&created), Err("u".to_owned()));
        let created = HashMap::from([
            ("g".to_owned(), "G1".to_owned()),
            ("u".to_owned(), "U1".to_owned()),
        ]);
        op.resolve(&created).unwrap();
        assert_eq!(op.target.as_deref(), Some("G1"));
        assert_eq!(op.data.unwrap()["Operations"][0]["value"][0]["value"], "U1");
    }

    #[test]
    fn malformed_operations_and_requests() {
        let req = request(json!([
            {"method": "GET", "path": "/Users"},
            {"method": "POST", "path": "/Users", "data": {}},
            {"method": "DELETE", "path": "/Users"},
            {"method": "PUT", "path": "/Stores/1", "data": {}},
        ]));
        assert!(req.entries.iter().all(|e| e.operation.is_err()));
        let too_many = BulkRequest::parse(
            &json!({"schemas": [urn::BULK_REQUEST], "Operations": [{}, {}, {}]}),
            2,
        );
        assert_eq!(too_many.unwrap_err(), Refusal::TooMany { sent: 3, max: 2 });
        let twice = BulkRequest::parse(
            &json!({"schemas": [urn::BULK_REQUEST], "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": {}},
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": {}},
            ]}),
            10,
        );
        assert!(matches!(twice, Err(Refusal::Input(_))));
        let zero = BulkRequest::parse(
            &json!({"schemas": [urn::BULK_REQUEST], "failOnErrors": 0, "Operations": []}),
            10,
        );
        assert!(matches!(zero, Err(Refusal::Input(_))));
    }
}
