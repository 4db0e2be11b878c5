//! The provisioning log: the account's events, newest first, filtered by user, action, warnings and
//! refusals, each diff shown as a small table of attribute, before and after.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Deserialize;
use serde_json::Value;

use super::{ConsoleError, Signed, view};
use crate::audit;
use crate::http::run_db;
use crate::state::AppState;

/// Entries per page.
const PAGE_SIZE: i64 = 50;
/// The actions the filter offers.
const ACTIONS: &[&str] = &["create", "update", "replace", "delete", "warn", "refuse"];
/// The longest user id read.
const MAX_ID_LEN: usize = 64;

/// Registers the page.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/log", web::get().to(list));
}

/// The page's query string.
#[derive(Debug, Deserialize)]
pub struct Params {
    user: Option<String>,
    action: Option<String>,
    warnings: Option<String>,
    refusals: Option<String>,
    page: Option<String>,
}

/// One line of a diff.
#[derive(Debug, serde::Serialize)]
struct Change {
    attribute: String,
    before: Option<String>,
    after: Option<String>,
}

/// One event as the page shows it.
#[derive(Debug, serde::Serialize)]
struct Entry {
    when: String,
    actor: String,
    action: String,
    code: String,
    resource_type: String,
    resource_id: Option<String>,
    changes: Vec<Change>,
}

fn shown(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A stored detail as lines: `{"attr": {"from": a, "to": b}}` is a change of `attr`; any other
/// member is shown as a value.
fn changes(detail: Option<&str>) -> Vec<Change> {
    let Some(Value::Object(map)) = detail.and_then(|d| serde_json::from_str(d).ok()) else {
        return Vec::new();
    };
    map.into_iter()
        .map(|(attribute, value)| match value {
            Value::Object(ref o) if o.contains_key("from") || o.contains_key("to") => Change {
                attribute,
                before: o.get("from").and_then(shown),
                after: o.get("to").and_then(shown),
            },
            other => Change {
                attribute,
                before: None,
                after: shown(&other),
            },
        })
        .collect()
}

async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    params: web::Query<Params>,
) -> Result<HttpResponse, ConsoleError> {
    let p = params.into_inner();
    let user = p
        .user
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty());
    let bad_user = user
        .as_deref()
        .is_some_and(|u| u.len() > MAX_ID_LEN || !u.bytes().all(|b| b.is_ascii_graphic()));
    let user = user.filter(|_| !bad_user);
    let warnings = p.warnings.is_some();
    let refusals = p.refusals.is_some();
    let action = if warnings {
        Some("warn".to_owned())
    } else if refusals {
        Some("refuse".to_owned())
    } else {
        p.action.filter(|a| ACTIONS.contains(&a.as_str()))
    };
    let page_no = super::page_number(p.page.as_deref());
    let query = audit::Query {
        resource_type: user.as_ref().map(|_| "User".to_owned()),
        resource_id: user.clone(),
        action: action.clone(),
        offset: super::page_offset(page_no, PAGE_SIZE as u64),
        limit: PAGE_SIZE,
        ..audit::Query::default()
    };
    let account_id = signed.0.caller.account.id.clone();
    let (total, rows) = run_db(&state, move |conn| {
        Ok(audit::list(conn, &account_id, &query)?)
    })
    .await?;
    let entries: Vec<Entry> = rows
        .into_iter()
        .map(|r| Entry {
            when: super::when(r.occurred_at),
            changes: changes(r.detail.as_deref()),
            actor: r.actor,
            action: r.action,
            code: r.code,
            resource_type: r.resource_type,
            resource_id: r.resource_id,
        })
        .collect();
    let pager = super::pager(
        "/console/log",
        page_no,
        super::page_count(total, PAGE_SIZE as u64),
        &[
            ("user", user.as_deref()),
            (
                "action",
                action.as_deref().filter(|_| !warnings && !refusals),
            ),
            ("warnings", warnings.then_some("1")),
            ("refusals", refusals.then_some("1")),
        ],
    );
    Ok(view::page(
        StatusCode::OK,
        "log.html",
        context! {
            session => signed.layout(),
            nav => "log",
            entries => minijinja::value::Serde(&entries),
            shown => entries.len(),
            total => total,
            pager => pager,
            actions => minijinja::value::Serde(ACTIONS),
            user => user,
            bad_user => bad_user,
            action => action,
            warnings => warnings,
            refusals => refusals,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_reads_as_before_and_after() {
        let lines = changes(Some(
            r#"{"name.givenName": {"from": "Ann", "to": "Anne"}, "added": 2, "title": {"to": "Chef"}}"#,
        ));
        let got: Vec<_> = lines
            .iter()
            .map(|c| {
                (
                    c.attribute.as_str(),
                    c.before.as_deref(),
                    c.after.as_deref(),
                )
            })
            .collect();
        assert!(got.contains(&("name.givenName", Some("Ann"), Some("Anne"))));
        assert!(got.contains(&("added", None, Some("2"))));
        assert!(got.contains(&("title", None, Some("Chef"))));
        assert!(changes(Some("not json")).is_empty());
    }
}
