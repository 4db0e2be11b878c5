//! The error type of the domain layer: what went wrong, in terms the HTTP layer maps to a status.

use crate::scim::error::{InputError, ScimType, Violation, Violations};

/// A failed domain operation. The HTTP layer turns each variant into exactly one response.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The resource does not exist in the caller's account (or at all: the two are not told apart).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The client sent something it can correct.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A value that must be unique in the account is taken.
    #[error("{0}")]
    Uniqueness(String),
    /// Values of the resource break rules of the data model, each with its attribute path and rule
    /// (400, or 409 when a unique value is taken).
    #[error(transparent)]
    Violated(#[from] Violations),
    /// The database failed in a way the client cannot correct.
    #[error("database error: {0}")]
    Database(diesel::result::Error),
    /// Something that should not happen did; logged, answered with a generic 500.
    #[error("internal error: {0}")]
    Internal(String),
    /// A concurrent write to the same resource won; retried by the domain, a 503 if that keeps
    /// happening.
    #[error("the resource is being changed by another request")]
    Contended,
    /// The client's `If-Match` names another version (412).
    #[error("{0}")]
    PreconditionFailed(String),
    /// No connection could be had in time.
    #[error("database unavailable: {0}")]
    Unavailable(#[from] diesel::r2d2::PoolError),
    /// Fields of the request break rules; each is named (400, all of them at once).
    #[error("{}", FieldError::join(.0))]
    InvalidFields(Vec<FieldError>),
    /// A field's value is taken in the account (409, naming the field).
    #[error("{}", .0.detail)]
    FieldTaken(FieldError),
    /// The resource existed and is gone for good: used, withdrawn or expired (410).
    #[error("{0}")]
    Gone(String),
    /// The caller may not do this to this resource (403), saying why.
    #[error("{0}")]
    Forbidden(String),
    /// Too soon to do this again (429); `retry_after_secs` says when it may be.
    #[error("{detail}")]
    TooSoon {
        /// What is refused and why.
        detail: String,
        /// Whole seconds until it is allowed (at least 1).
        retry_after_secs: i64,
    },
    /// The request conflicts with what exists (409), naming it: the fields in the way and the
    /// members a problem body carries beside `detail` (for instance the `userId` of the user who
    /// already has an e-mail address).
    #[error("{}", .0.detail)]
    Conflict(Box<Conflict>),
}

impl ServiceError {
    /// A 409: the resource's state forbids the change, saying why and what to do instead (no
    /// fields or members beside the detail).
    pub fn conflict(detail: impl Into<String>) -> Self {
        ServiceError::Conflict(Box::new(Conflict {
            detail: detail.into(),
            errors: Vec::new(),
            members: serde_json::Map::new(),
        }))
    }
}

/// What a [`ServiceError::Conflict`] says.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// What is in the way, and what to do instead.
    pub detail: String,
    /// The request's fields in the way (may be empty).
    pub errors: Vec<FieldError>,
    /// Members a problem body carries beside `detail` (no secrets; ids and names the caller may
    /// see).
    pub members: serde_json::Map<String, serde_json::Value>,
}

/// One offending field of a request and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The field as the request named it (`email`, `stores[0].refId`).
    pub field: String,
    /// What is wrong, and what to send instead.
    pub detail: String,
}

impl FieldError {
    /// An error of `field`.
    pub fn new(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            detail: detail.into(),
        }
    }

    /// The errors as one sentence per field.
    pub fn join(errors: &[FieldError]) -> String {
        errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.detail))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::NotFound => ServiceError::NotFound("resource"),
            other => ServiceError::Database(other),
        }
    }
}

impl From<Violation> for ServiceError {
    fn from(violation: Violation) -> Self {
        ServiceError::Violated(violation.into())
    }
}

impl ServiceError {
    /// An `invalidValue` input error.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ServiceError::Input(InputError::invalid_value(detail))
    }

    /// The `scimType` a client sees, where there is one.
    pub fn scim_type(&self) -> Option<ScimType> {
        match self {
            ServiceError::Input(e) => Some(e.scim_type),
            ServiceError::Violated(v) => Some(v.scim_type()),
            ServiceError::InvalidFields(_) => Some(ScimType::InvalidValue),
            ServiceError::Uniqueness(_)
            | ServiceError::FieldTaken(_)
            | ServiceError::Conflict(_) => Some(ScimType::Uniqueness),
            _ => None,
        }
    }
}
