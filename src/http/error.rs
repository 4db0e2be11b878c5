//! The one place errors become answers. [`Failure::answer`] maps any failure to its status,
//! `scimType` and `detail` as data, without a response (what a future `/Bulk` puts in each
//! operation's result); the responders dress that answer: SCIM error bodies (RFC 7644 §3.12,
//! `application/scim+json`, string `status`) under `/scim/v2`, `application/problem+json` (RFC
//! 9457) on the admin and app APIs, with an `errors` list (`field`, `detail`) when the request's
//! fields are at fault, and the CrewPlanner link's pages and problem bodies.
//! Internal errors are logged here and answered with a generic detail; their text never leaves.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::crewplanner::LaunchError;
use crate::crewplanner::refusal::Refusal;
use crate::error::ServiceError;
use crate::scim::error::{InputError, ScimType};
use crate::scim::urn;

/// Why a request failed, whatever the API's wire format.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A domain operation failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// No valid bearer token of the right scope.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The body is larger than the configured limit (bytes).
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// The body did not arrive within the read deadline (seconds).
    #[error("the request body did not arrive within {0} seconds; send it at once")]
    RequestTimeout(u64),
    /// The body is not JSON by its content type.
    #[error("unsupported content type")]
    UnsupportedMediaType,
    /// The route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// No such endpoint.
    #[error("no such endpoint")]
    NoRoute,
    /// The caller is known but may not do this (403), saying why: a token of another scope, a
    /// filter on a discovery endpoint (RFC 7644 §4).
    #[error("{0}")]
    Forbidden(&'static str),
    /// A Bulk request over `maxOperations` or `maxPayloadSize` (413 `tooLarge`), saying which.
    #[error("{0}")]
    BulkTooLarge(String),
    /// A Bulk operation whose `bulkId` reference cannot be resolved: unknown, circular, or its
    /// operation failed (409 `invalidValue`, RFC 7644 §3.7).
    #[error("{0}")]
    BulkReference(String),
    /// A CrewPlanner link is refused (its reason decides the status).
    #[error("refused: {}", .0.reason.code())]
    Refused(Refusal),
}

/// What a failure answers, as data: the status, the `scimType` (SCIM's error kind) and the
/// `detail` a client sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The SCIM error kind, where SCIM defines one.
    pub scim_type: Option<ScimType>,
    /// Actionable for the client's own mistakes, generic for ours.
    pub detail: String,
}

impl Answer {
    /// The SCIM error body of this answer (RFC 7644 §3.12: `status` a string): an error
    /// response's, and a failed Bulk operation's `response`.
    pub fn scim_body(&self) -> serde_json::Value {
        let mut body = json!({
            "schemas": [urn::ERROR],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t.as_str());
        }
        body
    }
}

impl From<LaunchError> for Failure {
    fn from(err: LaunchError) -> Self {
        match err {
            LaunchError::Refused(refusal) => Failure::Refused(refusal),
            LaunchError::Service(e) => Failure::Service(e),
        }
    }
}

impl From<InputError> for Failure {
    fn from(err: InputError) -> Self {
        Failure::Service(ServiceError::Input(err))
    }
}

impl Failure {
    /// The answer to this failure, logging it first when it is ours (an internal or database
    /// error, an unreachable database).
    pub fn answer(&self) -> Answer {
        self.log();
        self.described()
    }

    /// The answer to this failure, without logging it (for a record of it beside the answer).
    pub fn described(&self) -> Answer {
        Answer {
            status: self.status(),
            scim_type: self.scim_type(),
            detail: self.detail(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Failure::Service(e) => match e {
                ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
                ServiceError::Input(_) | ServiceError::InvalidFields(_) => StatusCode::BAD_REQUEST,
                ServiceError::Uniqueness(_)
                | ServiceError::FieldTaken(_)
                | ServiceError::Conflict(_) => StatusCode::CONFLICT,
                ServiceError::Violated(v) if v.is_conflict() => StatusCode::CONFLICT,
                ServiceError::Violated(_) => StatusCode::BAD_REQUEST,
                ServiceError::Gone(_) => StatusCode::GONE,
                ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
                ServiceError::TooSoon { .. } => StatusCode::TOO_MANY_REQUESTS,
                ServiceError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
                ServiceError::Database(_) | ServiceError::Internal(_) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
                ServiceError::Unavailable(_) | ServiceError::Contended => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            },
            Failure::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Failure::PayloadTooLarge(_) | Failure::BulkTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Failure::BulkReference(_) => StatusCode::CONFLICT,
            Failure::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Failure::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Failure::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Failure::NoRoute => StatusCode::NOT_FOUND,
            Failure::Forbidden(_) => StatusCode::FORBIDDEN,
            Failure::Refused(refusal) => {
                StatusCode::from_u16(refusal.reason.status()).unwrap_or(StatusCode::UNAUTHORIZED)
            }
        }
    }

    /// The offending fields, for the `errors` list of a problem body.
    fn field_errors(&self) -> Option<Vec<crate::error::FieldError>> {
        match self {
            Failure::Service(ServiceError::InvalidFields(errors)) => Some(errors.clone()),
            Failure::Service(ServiceError::FieldTaken(error)) => Some(vec![error.clone()]),
            Failure::Service(ServiceError::Conflict(c)) if !c.errors.is_empty() => {
                Some(c.errors.clone())
            }
            _ => None,
        }
    }

    pub(crate) fn scim_type(&self) -> Option<ScimType> {
        match self {
            Failure::Service(e) => e.scim_type(),
            Failure::BulkTooLarge(_) => Some(ScimType::TooLarge),
            Failure::BulkReference(_) => Some(ScimType::InvalidValue),
            _ => None,
        }
    }

    /// The `detail` a client sees: actionable for its own mistakes, generic for ours.
    fn detail(&self) -> String {
        match self {
            Failure::Service(ServiceError::NotFound(what)) => {
                format!("the {what} does not exist (or not in the account this token opens)")
            }
            Failure::Service(ServiceError::Input(e)) => e.detail.clone(),
            Failure::Service(ServiceError::Violated(v)) => v.detail(),
            Failure::Service(
                ServiceError::Uniqueness(d)
                | ServiceError::PreconditionFailed(d)
                | ServiceError::Gone(d)
                | ServiceError::Forbidden(d)
                | ServiceError::TooSoon { detail: d, .. },
            ) => d.clone(),
            Failure::Service(ServiceError::Conflict(c)) => c.detail.clone(),
            Failure::Service(
                e @ (ServiceError::InvalidFields(_) | ServiceError::FieldTaken(_)),
            ) => e.to_string(),
            Failure::Service(ServiceError::Database(_) | ServiceError::Internal(_)) => {
                "an internal error occurred; it has been logged".to_owned()
            }
            Failure::Service(ServiceError::Unavailable(_)) => {
                "the database is busy or unreachable; retry shortly".to_owned()
            }
            Failure::Service(ServiceError::Contended) => {
                "the resource is being changed by other requests; retry shortly".to_owned()
            }
            Failure::UnsupportedMediaType => {
                "send the body as application/scim+json (or application/json)".to_owned()
            }
            Failure::MethodNotAllowed => {
                "this endpoint does not support that HTTP method".to_owned()
            }
            Failure::NoRoute => "there is no such endpoint".to_owned(),
            Failure::Refused(refusal) => refusal.detail.clone(),
            other => other.to_string(),
        }
    }

    fn log(&self) {
        match self {
            Failure::Service(ServiceError::Database(e)) => {
                tracing::error!(error = %e, "database error")
            }
            Failure::Service(ServiceError::Internal(e)) => {
                tracing::error!(error = %e, "internal error")
            }
            Failure::Service(ServiceError::Unavailable(e)) => {
                tracing::warn!(error = %e, "database unavailable")
            }
            _ => {}
        }
    }

    fn decorate(&self, builder: &mut actix_web::HttpResponseBuilder) {
        match self {
            Failure::Unauthorized(_) => {
                builder
                    .insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            Failure::Service(ServiceError::Unavailable(_) | ServiceError::Contended) => {
                builder.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            Failure::RequestTimeout(_) | Failure::PayloadTooLarge(_) => {
                // The body was not read to its end: this connection cannot carry another request.
                builder.insert_header((header::CONNECTION, HeaderValue::from_static("close")));
            }
            Failure::Service(ServiceError::TooSoon {
                retry_after_secs, ..
            }) => {
                builder
                    .insert_header((header::RETRY_AFTER, (*retry_after_secs).max(1).to_string()));
            }
            _ => {}
        }
    }
}

/// A failure answered with a SCIM error body.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ScimError(#[from] pub Failure);

impl From<ServiceError> for ScimError {
    fn from(e: ServiceError) -> Self {
        ScimError(Failure::Service(e))
    }
}

impl From<InputError> for ScimError {
    fn from(e: InputError) -> Self {
        ScimError(e.into())
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        let answer = self.0.answer();
        let body = answer.scim_body();
        let mut builder = HttpResponse::build(answer.status);
        self.0.decorate(&mut builder);
        builder
            .content_type(super::SCIM_JSON)
            .body(body.to_string())
    }
}

/// A failure answered with an RFC 9457 problem body.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ProblemError(#[from] pub Failure);

impl From<ServiceError> for ProblemError {
    fn from(e: ServiceError) -> Self {
        ProblemError(Failure::Service(e))
    }
}

impl From<InputError> for ProblemError {
    fn from(e: InputError) -> Self {
        ProblemError(e.into())
    }
}

impl ResponseError for ProblemError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        let answer = self.0.answer();
        let mut body = json!({
            "type": "about:blank",
            "title": answer.status.canonical_reason().unwrap_or("Error"),
            "status": answer.status.as_u16(),
            "detail": answer.detail,
        });
        if let Some(errors) = self.0.field_errors() {
            body["errors"] = json!(errors);
        }
        if let Failure::Service(ServiceError::Conflict(c)) = &self.0 {
            for (name, value) in &c.members {
                if body.get(name).is_none() {
                    body[name] = value.clone();
                }
            }
        }
        let mut builder = HttpResponse::build(answer.status);
        self.0.decorate(&mut builder);
        builder
            .content_type("application/problem+json")
            .body(body.to_string())
    }
}
