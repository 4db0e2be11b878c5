//! SCIM error detail types (RFC 7644 §3.12): the `scimType` keywords and an input error that carries one.

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

    /// A filter that does not parse or cannot be answered.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self {
            scim_type: ScimType::InvalidFilter,
            detail: detail.into(),
        }
    }
}
