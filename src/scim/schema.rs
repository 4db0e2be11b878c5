//! The schema registry: SCIM schemas and resource types, read from the JSON files in `scim-schemas/`
//! (embedded in the binary), served verbatim by discovery and used to canonicalise input.

use super::limits::Limits;
use super::urn;
use serde::Deserialize;
use serde_json::Value;

/// The data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    /// A JSON string.
    String,
    /// A JSON boolean.
    Boolean,
    /// A JSON number with a fraction.
    Decimal,
    /// A JSON number without a fraction.
    Integer,
    /// An RFC 3339 date-time in a JSON string.
    DateTime,
    /// Base64 in a JSON string.
    Binary,
    /// A URI in a JSON string.
    Reference,
    /// A JSON object of sub-attributes.
    Complex,
}

/// When an attribute may be written (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// Set by the server only; ignored on input.
    ReadOnly,
    /// Read and written by clients.
    ReadWrite,
    /// Written once, then never changed.
    Immutable,
    /// Written, never returned.
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// In every response.
    Always,
    /// Never.
    Never,
    /// Unless excluded.
    Default,
    /// Only when asked for with `attributes`.
    Request,
}

/// One attribute definition (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDef {
    /// The attribute's name in its canonical case.
    pub name: String,
    /// The data type.
    #[serde(rename = "type")]
    pub kind: AttrType,
    /// Whether the value is a JSON array.
    pub multi_valued: bool,
    /// Whether a value is required.
    pub required: bool,
    /// Whether string comparisons respect case.
    #[serde(default)]
    pub case_exact: bool,
    /// When the attribute may be written.
    pub mutability: Mutability,
    /// When the attribute is returned.
    pub returned: Returned,
    /// The suggested values, if any.
    #[serde(default)]
    pub canonical_values: Vec<String>,
    /// Sub-attributes of a complex attribute.
    #[serde(default)]
    pub sub_attributes: Vec<AttributeDef>,
}

impl AttributeDef {
    /// The sub-attribute named `name`, compared case-insensitively (RFC 7643 §2.1).
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A schema (RFC 7643 §7): its id (a URN), its attributes, and the JSON served for it.
#[derive(Debug, Clone)]
pub struct SchemaDef {
    /// The schema URN.
    pub id: String,
    /// Top-level attributes.
    pub attributes: Vec<AttributeDef>,
    /// The document as served by `/Schemas`.
    pub document: Value,
}

impl SchemaDef {
    /// The top-level attribute named `name`, compared case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A resource type (RFC 7643 §6).
#[derive(Debug, Clone)]
pub struct ResourceTypeDef {
    /// The name, e.g. `User`.
    pub id: String,
    /// The endpoint relative to the base URL, e.g. `/Users`.
    pub endpoint: String,
    /// The core schema URN.
    pub schema: String,
    /// Extension schema URNs.
    pub extensions: Vec<String>,
    /// The document as served by `/ResourceTypes`.
    pub document: Value,
}

/// Every schema and resource type this server serves.
#[derive(Debug, Clone)]
pub struct Registry {
    schemas: Vec<SchemaDef>,
    resource_types: Vec<ResourceTypeDef>,
    limits: Limits,
}

/// The schema files embedded in the binary, in the order `/Schemas` lists them.
const SCHEMA_FILES: &[(&str, &str)] = &[
    ("user.json", include_str!("../../scim-schemas/user.json")),
    (
        "enterprise-user.json",
        include_str!("../../scim-schemas/enterprise-user.json"),
    ),
    (
        "mobietrain-user.json",
        include_str!("../../scim-schemas/mobietrain-user.json"),
    ),
    ("group.json", include_str!("../../scim-schemas/group.json")),
    (
        "mobietrain-group.json",
        include_str!("../../scim-schemas/mobietrain-group.json"),
    ),
];

/// The resource types embedded in the binary.
const RESOURCE_TYPES: &str = include_str!("../../scim-schemas/resource-types.json");

#[derive(Deserialize)]
struct SchemaFile {
    id: String,
    attributes: Vec<AttributeDef>,
}

#[derive(Deserialize)]
struct ResourceTypeFile {
    id: String,
    endpoint: String,
    schema: String,
    #[serde(default, rename = "schemaExtensions")]
    schema_extensions: Vec<ExtensionRef>,
}

#[derive(Deserialize)]
struct ExtensionRef {
    schema: String,
}

/// The attributes whose values are ITU country calling codes (`schema`, `attribute`, `sub`).
const CALLING_CODE_ATTRIBUTES: &[(&str, &str, Option<&str>)] = &[
    (urn::MOBIETRAIN_USER, "stores", Some("countryCallingCode")),
    (urn::MOBIETRAIN_USER, "storeCountryCallingCode", None),
];

/// The attribute named `name` in a list of attribute documents.
fn named<'v>(list: &'v mut Value, name: &str) -> Option<&'v mut Value> {
    list.as_array_mut()?
        .iter_mut()
        .find(|a| a["name"].as_str() == Some(name))
}

/// Sets `canonicalValues` of the calling-code attributes of a schema document to the codes
/// [`crate::phone`] knows, so `/Schemas` publishes the closed set the server accepts (clients such
/// as scim2-tester fill attributes from it).
fn publish_calling_codes(document: &mut Value) {
    let id = document["id"].as_str().unwrap_or_default().to_owned();
    for (_, name, sub) in CALLING_CODE_ATTRIBUTES.iter().filter(|(s, ..)| *s == id) {
        let Some(mut attribute) = named(&mut document["attributes"], name) else {
            panic!("{id} has no attribute {name}");
        };
        if let Some(sub) = sub {
            attribute = named(&mut attribute["subAttributes"], sub)
                .unwrap_or_else(|| panic!("{id}:{name} has no sub-attribute {sub}"));
        }
        attribute["canonicalValues"] = Value::from(crate::phone::calling_codes());
    }
}

impl Registry {
    /// Loads the embedded files. They are part of the binary, so a failure is a build defect,
    /// caught by the test suite; it panics with the file at fault.
    pub fn embedded() -> Self {
        let all: Vec<SchemaDef> = SCHEMA_FILES
            .iter()
            .map(|(file, text)| {
                let mut document: Value = serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("scim-schemas/{file} is not JSON: {e}"));
                publish_calling_codes(&mut document);
                let parsed: SchemaFile = serde_json::from_value(document.clone())
                    .unwrap_or_else(|e| panic!("scim-schemas/{file} is not a SCIM schema: {e}"));
                SchemaDef {
                    id: parsed.id,
                    attributes: parsed.attributes,
                    document,
                }
            })
            .collect();
        let documents: Vec<Value> = serde_json::from_str(RESOURCE_TYPES)
            .unwrap_or_else(|e| panic!("scim-schemas/resource-types.json is not JSON: {e}"));
        let resource_types: Vec<ResourceTypeDef> = documents
            .into_iter()
            .map(|document| {
                let parsed: ResourceTypeFile = serde_json::from_value(document.clone())
                    .unwrap_or_else(|e| panic!("a resource type is malformed: {e}"));
                ResourceTypeDef {
                    id: parsed.id,
                    endpoint: parsed.endpoint,
                    schema: parsed.schema,
                    extensions: parsed
                        .schema_extensions
                        .into_iter()
                        .map(|e| e.schema)
                        .collect(),
                    document,
                }
            })
            .collect();
        // Serve only the schemas of resource types that are served: discovery tells the truth.
        let schemas = all
            .into_iter()
            .filter(|s| {
                resource_types
                    .iter()
                    .any(|rt| rt.schema == s.id || rt.extensions.contains(&s.id))
            })
            .collect();
        Self {
            schemas,
            resource_types,
            limits: Limits::default(),
        }
    }

    /// The registry with these request limits (the server's configuration).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The bounds on the lists a request may carry.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A copy of the registry with `schema` replacing the served schema of the same id (for tests
    /// of rules that no served attribute exercises).
    pub fn with_schema(&self, schema: SchemaDef) -> Self {
        let mut copy = self.clone();
        if let Some(slot) = copy.schemas.iter_mut().find(|s| s.id == schema.id) {
            *slot = schema;
        }
        copy
    }

    /// Every served schema.
    pub fn schemas(&self) -> &[SchemaDef] {
        &self.schemas
    }

    /// The schema with this URN (compared case-insensitively).
    pub fn schema(&self, urn: &str) -> Option<&SchemaDef> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Every served resource type.
    pub fn resource_types(&self) -> &[ResourceTypeDef] {
        &self.resource_types
    }

    /// The resource type named `id` (e.g. `User`).
    pub fn resource_type(&self, id: &str) -> Option<&ResourceTypeDef> {
        self.resource_types.iter().find(|r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_load_and_user_has_its_extensions() {
        let registry = Registry::embedded();
        let user = registry.resource_type("User").expect("User resource type");
        for urn in std::iter::once(&user.schema).chain(&user.extensions) {
            assert!(
                registry.schema(urn).is_some(),
                "{urn} is referenced but not served"
            );
        }
        let core = registry.schema(crate::scim::urn::USER).unwrap();
        assert!(core.attribute("USERNAME").is_some(), "lookups ignore case");
        assert!(
            core.attribute("name")
                .unwrap()
                .sub_attribute("givenname")
                .unwrap()
                .required
        );
    }
}
