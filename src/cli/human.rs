//! Errors as the command line prints them: one line in words an operator acts on, never the
//! protocol's vocabulary (`invalidValue: …`) or a debug dump.

use crate::error::ServiceError;

/// The error and its causes, outermost first, joined by ": "; a domain error says what it means
/// to someone at a terminal.
pub fn message(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let part = match cause.downcast_ref::<ServiceError>() {
            Some(service) => service_message(service),
            None => cause.to_string(),
        };
        // `#[error(transparent)]` wrappers repeat their cause; say it once.
        if parts.last() != Some(&part) {
            parts.push(part);
        }
        if cause.is::<ServiceError>() {
            break;
        }
    }
    parts.join(": ")
}

fn service_message(err: &ServiceError) -> String {
    match err {
        ServiceError::NotFound(what) => format!("there is no such {what}"),
        ServiceError::Input(e) => e.detail.clone(),
        ServiceError::FieldTaken(e) => e.detail.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::InputError;
    use anyhow::Context;

    #[test]
    fn domain_errors_read_as_sentences() {
        let err = Err::<(), _>(ServiceError::Input(InputError::invalid_value(
            "the language must be one of en, nl, fr, de",
        )))
        .context("account settings")
        .unwrap_err();
        assert_eq!(
            message(&err),
            "account settings: the language must be one of en, nl, fr, de"
        );
        let missing = anyhow::Error::from(ServiceError::NotFound("account")).context("account x");
        assert_eq!(message(&missing), "account x: there is no such account");
    }
}
