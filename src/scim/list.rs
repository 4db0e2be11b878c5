//! Listing: paging parameters (RFC 7644 §3.4.2.4), the sort (§3.4.2.3), a parsed list or search
//! request, and the ListResponse message.

use scim_v2::filter::Filter;
use serde_json::{Value, json};

use super::cursor::{Paging, Position};
use super::dialect::Rewrite;
use super::error::InputError;
use super::urn;

/// A page request after the RFC's rules are applied: 1-based `start_index`, `count` capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The 1-based index of the first result.
    pub start_index: u64,
    /// The most results to return (0 asks only for `totalResults`).
    pub count: u64,
}

impl Page {
    /// Reads `startIndex` and `count` as sent in a query string. A `startIndex` below 1 is read as 1
    /// and a negative `count` as 0 (RFC 7644 §3.4.2.4); `count` defaults to and is capped at
    /// `max_results`.
    pub fn from_params(
        start_index: Option<&str>,
        count: Option<&str>,
        max_results: u64,
    ) -> Result<Self, InputError> {
        let parse = |name: &str, raw: &str| {
            raw.trim().parse::<i64>().map_err(|_| {
                InputError::invalid_value(format!("\"{name}\" must be an integer, not {raw:?}"))
            })
        };
        let start_index = match start_index {
            Some(raw) => parse("startIndex", raw)?.max(1) as u64,
            None => 1,
        };
        let count = match count {
            Some(raw) => (parse("count", raw)?.max(0) as u64).min(max_results),
            None => max_results,
        };
        Ok(Self { start_index, count })
    }

    /// The number of rows to skip.
    pub fn offset(&self) -> u64 {
        self.start_index - 1
    }
}

/// A sort request: an attribute path and the direction.
#[derive(Debug, Clone)]
pub struct Sort {
    /// The `sortBy` attribute path, as sent.
    pub by: String,
    /// `sortOrder=descending`.
    pub descending: bool,
}

/// A list or search request, parsed.
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// The filter, if any.
    pub filter: Option<Filter>,
    /// The sort, if any.
    pub sort: Option<Sort>,
    /// The page: its size, and with index paging where it starts.
    pub page: Page,
    /// Index or cursor paging (RFC 9865).
    pub paging: Paging,
}

/// A page of resources as the domain lists it.
#[derive(Debug)]
pub struct Listed<R> {
    /// How many resources match in all.
    pub total: u64,
    /// The page.
    pub records: Vec<R>,
    /// The filter's dialect rewrites.
    pub rewrites: Vec<Rewrite>,
    /// With cursor paging, where the next page starts (none on the last page).
    pub next: Option<Position>,
    /// With cursor paging, where the previous page ends (none on the first page).
    pub previous: Option<Position>,
}

/// A ListResponse body; `itemsPerPage` is the number of resources returned (RFC 7644 §3.4.2).
pub fn list_response(total_results: u64, page: Page, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [urn::LIST_RESPONSE],
        "totalResults": total_results,
        "startIndex": page.start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// A ListResponse body of a cursor page (RFC 9865): `nextCursor` on every page but the last,
/// `previousCursor` on every page but the first, no `startIndex`.
pub fn cursor_response(
    total_results: u64,
    resources: Vec<Value>,
    next_cursor: Option<String>,
    previous_cursor: Option<String>,
) -> Value {
    let mut body = json!({
        "schemas": [urn::LIST_RESPONSE],
        "totalResults": total_results,
        "itemsPerPage": resources.len(),
    });
    if let Some(previous) = previous_cursor {
        body["previousCursor"] = json!(previous);
    }
    if let Some(next) = next_cursor {
        body["nextCursor"] = json!(next);
    }
    body["Resources"] = json!(resources);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_rules_for_out_of_range_values() {
        assert_eq!(
            Page::from_params(None, None, 100).unwrap(),
            Page {
                start_index: 1,
                count: 100
            }
        );
        assert_eq!(
            Page::from_params(Some("0"), Some("-5"), 100).unwrap(),
            Page {
                start_index: 1,
                count: 0
            }
        );
        assert_eq!(
            Page::from_params(Some("101"), Some("5000"), 100)
                .unwrap()
                .count,
            100
        );
        assert!(Page::from_params(Some("one"), None, 100).is_err());
    }
}
