//! The invitation form on the wire: reads the JSON body of `POST /admin/v1/invitations` into the
//! domain's typed [`InvitationForm`], naming every field of the wrong type and every unknown field.
//! The form's rules are the domain's (`invitations::rules::check`); this is only the reading.

use serde_json::{Map, Value};

use crate::error::FieldError;
use crate::invitations::rules::{InvitationForm, MAX_GROUPS, MAX_ID_LEN, MAX_STORES, StoreInput};
use crate::text::{Lines, forbidden_char};

/// The fields the form knows.
const FIELDS: &[&str] = &[
    "givenName",
    "familyName",
    "email",
    "phoneNumber",
    "jobPosition",
    "companyId",
    "stores",
    "groupIds",
    "role",
    "language",
    "agreementAccepted",
];

fn text(obj: &Map<String, Value>, field: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    match obj.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(_) => {
            errors.push(FieldError::new(field, "must be a string"));
            None
        }
    }
}

/// Reads the body of `POST /admin/v1/invitations`; wrong types and unknown fields are named.
pub fn read(body: &Value) -> Result<InvitationForm, Vec<FieldError>> {
    let Value::Object(obj) = body else {
        return Err(vec![FieldError::new("", "the body must be a JSON object")]);
    };
    let mut errors = Vec::new();
    for key in obj.keys() {
        if !FIELDS.contains(&key.as_str()) {
            let known = FIELDS.join(", ");
            errors.push(FieldError::new(
                key.chars().take(64).collect::<String>(),
                format!("is not a field of an invitation (the fields are {known})"),
            ));
        }
    }
    let mut form = InvitationForm {
        given_name: text(obj, "givenName", &mut errors),
        family_name: text(obj, "familyName", &mut errors),
        email: text(obj, "email", &mut errors),
        phone_number: text(obj, "phoneNumber", &mut errors),
        job_position: text(obj, "jobPosition", &mut errors),
        company_id: text(obj, "companyId", &mut errors),
        role: text(obj, "role", &mut errors),
        language: text(obj, "language", &mut errors),
        ..InvitationForm::default()
    };
    match obj.get("agreementAccepted") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => form.agreement_accepted = Some(*b),
        Some(_) => errors.push(FieldError::new(
            "agreementAccepted",
            "must be true or false",
        )),
    }
    match obj.get("groupIds") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ids)) if ids.len() > MAX_GROUPS => errors.push(FieldError::new(
            "groupIds",
            format!(
                "names {} groups; at most {MAX_GROUPS} are allowed",
                ids.len()
            ),
        )),
        Some(Value::Array(ids)) => {
            for (i, id) in ids.iter().enumerate() {
                match id {
                    // An id never holds a control character (and PostgreSQL could not look up
                    // one holding NUL).
                    Value::String(s)
                        if !s.is_empty()
                            && s.len() <= MAX_ID_LEN
                            && forbidden_char(s, Lines::Single).is_none() =>
                    {
                        if !form.group_ids.contains(s) {
                            form.group_ids.push(s.clone());
                        }
                    }
                    _ => errors.push(FieldError::new(
                        format!("groupIds[{i}]"),
                        "must be the id of a group (a string)",
                    )),
                }
            }
        }
        Some(_) => errors.push(FieldError::new("groupIds", "must be a list of group ids")),
    }
    match obj.get("stores") {
        None | Some(Value::Null) => {}
        Some(Value::Array(stores)) if stores.len() > MAX_STORES => errors.push(FieldError::new(
            "stores",
            format!(
                "names {} stores; at most {MAX_STORES} are allowed",
                stores.len()
            ),
        )),
        Some(Value::Array(stores)) => {
            for (i, store) in stores.iter().enumerate() {
                let Value::Object(s) = store else {
                    errors.push(FieldError::new(
                        format!("stores[{i}]"),
                        "must be an object with refId, name and countryCallingCode",
                    ));
                    continue;
                };
                let mut inner = Vec::new();
                let input = StoreInput {
                    ref_id: text(s, "refId", &mut inner),
                    name: text(s, "name", &mut inner),
                    country_calling_code: match s.get("countryCallingCode") {
                        // A number is what people type: 32 means "32".
                        Some(Value::Number(n)) => Some(n.to_string()),
                        _ => text(s, "countryCallingCode", &mut inner),
                    },
                };
                errors.extend(
                    inner
                        .into_iter()
                        .map(|e| FieldError::new(format!("stores[{i}].{}", e.field), e.detail)),
                );
                form.stores.push(input);
            }
        }
        Some(_) => errors.push(FieldError::new("stores", "must be a list of stores")),
    }
    if errors.is_empty() {
        Ok(form)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_and_unknown_fields_are_named() {
        let errors = read(
            &json!({"givenName": 3, "agreementAccepted": "yes", "nope": 1,
                                   "groupIds": [1], "stores": [{"refId": []}]}),
        )
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "nope",
                "givenName",
                "agreementAccepted",
                "groupIds[0]",
                "stores[0].refId"
            ]
        );
    }
}
