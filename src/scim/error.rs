//! SCIM error detail types (RFC 7644 §3.12): the `scimType` keywords, an input error that carries
//! one, and the violations of the data model's rules, which carry the attribute path and the rule
//! as data (so a caller such as the invitation form branches on them, never on a message) and
//! turn into a `scimType` and a `detail` for the client.

use std::fmt;

/// The `scimType` keywords of RFC 7644 §3.12 table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    /// The filter syntax was invalid or the attribute and comparison combination is not supported.
    InvalidFilter,
    /// The filter yields too many results for the server to process.
    TooMany,
    /// One or more attribute values are already in use or reserved.
    Uniqueness,
    /// The attempted modification is not compatible with the attribute's mutability.
    Mutability,
    /// The request body structure was invalid or did not conform to the schema.
    InvalidSyntax,
    /// The path attribute was invalid or malformed.
    InvalidPath,
    /// The specified path did not yield an attribute or value that could be operated on.
    NoTarget,
    /// A required value was missing, or the value was not compatible with the attribute.
    InvalidValue,
    /// The specified SCIM protocol version is not supported.
    InvalidVers,
    /// The request cannot be completed because of sensitive information in the request URI.
    Sensitive,
    /// A Bulk request exceeds `maxOperations` or `maxPayloadSize` (RFC 7644 §3.7.4).
    TooLarge,
    /// The cursor is not one this server issued for this query and account (RFC 9865).
    InvalidCursor,
    /// The cursor is older than `cursorTimeout` (RFC 9865).
    ExpiredCursor,
    /// The `count` of a cursor request is negative or above `maxPageSize` (RFC 9865).
    InvalidCount,
}

impl ScimType {
    /// The keyword as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::TooLarge => "tooLarge",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::ExpiredCursor => "expiredCursor",
            ScimType::InvalidCount => "invalidCount",
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Input that a client can correct: a `scimType` and a `detail` naming the attribute and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scim_type}: {detail}")]
pub struct InputError {
    /// The RFC keyword.
    pub scim_type: ScimType,
    /// A sentence a human can act on.
    pub detail: String,
}

impl InputError {
    /// A value that breaks a rule of the schema or of MobieTrain's data model.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self {
            scim_type: ScimType::InvalidValue,
            detail: detail.into(),
        }
    }

    /// A body whose structure is wrong.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self {
            scim_type: ScimType::InvalidSyntax,
            detail: detail.into(),
        }
    }

    /// A cursor that is not one of ours for this query (RFC 9865).
    pub fn invalid_cursor(detail: impl Into<String>) -> Self {
        Self {
            scim_type: ScimType::InvalidCursor,
            detail: detail.into(),
        }
    }

    /// A cursor past its lifetime (RFC 9865).
    pub fn expired_cursor(detail: impl Into<String>) -> Self {
        Self {
            scim_type: ScimType::ExpiredCursor,
            detail: detail.into(),
        }
    }

    /// A `count` a cursor request cannot take (RFC 9865).
    pub fn invalid_count(detail: impl Into<String>) -> Self {
        Self {
            scim_type: ScimType::InvalidCount,
            detail: detail.into(),
        }
    }

    /// A filter that does not parse or cannot be answered.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self {
            scim_type: ScimType::InvalidFilter,
            detail: detail.into(),
        }
    }
}

/// Where in a resource a value sits: an attribute of the core schema or of an extension, an element
/// of it, a sub-attribute. Displayed as the SCIM attribute path a client knows (`name.givenName`,
/// `emails[1].value`, `urn:…:mobietrain:2.0:User:stores[0].refId`), so a form or another client can
/// tell which of its own fields is meant without reading any message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrPath {
    /// The extension's schema URN; `None` for the resource's core schema.
    pub schema: Option<&'static str>,
    /// The attribute's canonical name (`name`, `emails`, `stores`).
    pub attribute: &'static str,
    /// The element of a multi-valued attribute.
    pub index: Option<usize>,
    /// The sub-attribute (`givenName`, `value`, `refId`).
    pub sub: Option<&'static str>,
}

impl AttrPath {
    /// An attribute of the core schema.
    pub const fn core(attribute: &'static str) -> Self {
        Self {
            schema: None,
            attribute,
            index: None,
            sub: None,
        }
    }

    /// An attribute of the extension `schema`.
    pub const fn extension(schema: &'static str, attribute: &'static str) -> Self {
        Self {
            schema: Some(schema),
            attribute,
            index: None,
            sub: None,
        }
    }

    /// The element `index` of this (multi-valued) attribute.
    pub const fn at(self, index: usize) -> Self {
        Self {
            index: Some(index),
            ..self
        }
    }

    /// The sub-attribute `sub` of this attribute (or of its element).
    pub const fn sub(self, sub: &'static str) -> Self {
        Self {
            sub: Some(sub),
            ..self
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(self.attribute)?;
        if let Some(i) = self.index {
            write!(f, "[{i}]")?;
        }
        if let Some(sub) = self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// The rule of the data model a value breaks (DESIGN 5), as data: what a caller branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A value that must be there is missing or blank.
    Required,
    /// Text longer than its bound.
    TooLong,
    /// Text holding a character it may not (a control character, a line break in one line).
    ForbiddenCharacter,
    /// More than one element of a multi-valued attribute is marked primary.
    OnePrimary,
    /// An element names the same thing as an earlier one.
    Duplicate,
    /// An e-mail value that is not an address.
    EmailAddress,
    /// Neither an e-mail address nor a phone number.
    Contact,
    /// A phone number without its country code where it has to have one.
    CountryCode,
    /// A store's calling code that is not an ITU calling code.
    CallingCode,
    /// A role MobieTrain does not know.
    Role,
    /// A manager without a store.
    ManagerStore,
    /// A reference to a resource the account does not have.
    Reference,
    /// A value that must be unique in the account is taken.
    Unique,
}

impl Rule {
    /// The `scimType` a client is told for this rule.
    pub fn scim_type(self) -> ScimType {
        match self {
            Rule::Unique => ScimType::Uniqueness,
            _ => ScimType::InvalidValue,
        }
    }
}

/// One broken rule: where, which rule, and a sentence a human can act on (naming the attribute,
/// never repeating the value when it may be personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The attribute at fault.
    pub path: AttrPath,
    /// The rule it breaks.
    pub rule: Rule,
    /// What is wrong and what to send instead.
    pub detail: String,
}

impl Violation {
    /// A violation of `rule` at `path`.
    pub fn new(path: AttrPath, rule: Rule, detail: impl Into<String>) -> Self {
        Self {
            path,
            rule,
            detail: detail.into(),
        }
    }
}

/// The most violations one `detail` names; the rest are counted.
pub const MAX_NAMED: usize = 10;

/// The rules a request breaks: at least one. A client is told the first one's `scimType` and a
/// `detail` naming every one ([`Violations::detail`]); callers that show fields (the invitation
/// form) read every one's path and rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.detail())]
pub struct Violations {
    first: Violation,
    rest: Vec<Violation>,
}

impl Violations {
    /// The violations of `list`, or `None` when it is empty.
    pub fn from_list(list: Vec<Violation>) -> Option<Self> {
        let mut list = list.into_iter();
        let first = list.next()?;
        Some(Self {
            first,
            rest: list.collect(),
        })
    }

    /// The violation a client is told about.
    pub fn first(&self) -> &Violation {
        &self.first
    }

    /// Every violation, the first one first.
    pub fn iter(&self) -> impl Iterator<Item = &Violation> {
        std::iter::once(&self.first).chain(&self.rest)
    }

    /// The `detail` a client is told: every violation's sentence (each names its attribute and
    /// rule), the first [`MAX_NAMED`] of them, then how many more there are.
    pub fn detail(&self) -> String {
        if self.rest.is_empty() {
            return self.first.detail.clone();
        }
        let total = self.rest.len() + 1;
        let named: Vec<&str> = self
            .iter()
            .take(MAX_NAMED)
            .map(|v| v.detail.as_str())
            .collect();
        let mut out = format!("{total} rules are broken: {}", named.join("; "));
        if total > MAX_NAMED {
            out.push_str(&format!("; and {} more", total - MAX_NAMED));
        }
        out
    }

    /// The `scimType` a client is told.
    pub fn scim_type(&self) -> ScimType {
        self.first.rule.scim_type()
    }

    /// Whether the request conflicts with the account's data (a 409) rather than being wrong in
    /// itself (a 400).
    pub fn is_conflict(&self) -> bool {
        self.scim_type() == ScimType::Uniqueness
    }

    /// Whether `rule` is broken at `path` (or at an element or sub-attribute of it).
    pub fn breaks(&self, path: AttrPath, rule: Rule) -> bool {
        self.iter().any(|v| {
            v.rule == rule && v.path.schema == path.schema && v.path.attribute == path.attribute
        })
    }
}

impl From<Violation> for Violations {
    fn from(first: Violation) -> Self {
        Self {
            first,
            rest: Vec::new(),
        }
    }
}
