//! Per-account rate limits on the HTTP APIs: which bucket a request draws on and what it costs,
//! the check where the account becomes known (after its token, with no database work of its own),
//! the 429 (`Retry-After` in whole seconds, a SCIM or problem+json body by the API), and the
//! `RateLimit-Limit`/`-Remaining`/`-Reset` headers of every limited response. Discovery,
//! `/healthz`, `/readyz` and the routes without an account are not limited. The buckets are
//! [`crate::accounts::rate_limit`]'s.

use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};

use super::access_log::CallerNote;
use super::error::Failure;
use crate::accounts::rate_limit::{Bucket, RateLimits};
use crate::error::ServiceError;
use crate::metrics::Metrics;

/// `RateLimit-Limit`: what the bucket holds (ten seconds of its rate).
pub const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
/// `RateLimit-Remaining`: requests left in the bucket.
pub const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
/// `RateLimit-Reset`: whole seconds until the bucket is full again.
pub const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// What a request is charged: its bucket and cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    /// Reads or writes.
    pub bucket: Bucket,
    /// How many requests it counts as (a Bulk request: its operations).
    pub cost: u32,
}

impl Charge {
    /// The charge of a request: reads are GET, HEAD and searches (`POST …/.search`); a
    /// `POST …/Bulk` costs its operation count, read from the body; anything else is one write.
    /// Priced only once the caller's token is checked, before the request does any work: a caller
    /// without a valid token never gets the body parsed.
    pub fn of(method: &Method, path: &str, body: &[u8]) -> Self {
        let read = *method == Method::GET
            || *method == Method::HEAD
            || (*method == Method::POST && path.ends_with("/.search"));
        let bucket = if read { Bucket::Read } else { Bucket::Write };
        let cost = if *method == Method::POST && path.ends_with("/Bulk") {
            bulk_operations(body).max(1)
        } else {
            1
        };
        Self { bucket, cost }
    }
}

/// The number of `Operations` of a Bulk request body (0 when it is not one; the handler says why).
fn bulk_operations(body: &[u8]) -> u32 {
    #[derive(serde::Deserialize)]
    struct Bulk {
        #[serde(rename = "Operations", default)]
        operations: Vec<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Bulk>(body)
        .map(|b| u32::try_from(b.operations.len()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

/// Notes the caller for the access log and charges `charge` to its account: `Err` is the 429 to
/// answer. Costs no database work: the account is known from the token already checked.
pub fn admit(
    limits: &RateLimits,
    metrics: &Metrics,
    note: &CallerNote,
    account_id: &str,
    token_id: &str,
    charge: Charge,
) -> Result<(), Failure> {
    let decision = limits.check(account_id, charge.bucket, charge.cost);
    note.set(account_id, token_id, decision);
    match decision {
        None | Some(Ok(_)) => Ok(()),
        Some(Err(refused)) => {
            metrics.rate_limited(account_id, charge.bucket.as_str());
            Err(Failure::Service(ServiceError::TooSoon {
                detail: format!(
                    "this account sent more {} requests than its limit of {} per second allows \
                     (with a burst of {}); retry after {} seconds",
                    charge.bucket.as_str(),
                    refused.limit / crate::accounts::rate_limit::BURST_SECONDS,
                    refused.limit,
                    refused.retry_after_secs
                ),
                retry_after_secs: i64::try_from(refused.retry_after_secs).unwrap_or(i64::MAX),
            }))
        }
    }
}

/// The `RateLimit-*` headers of a response to a request that drew on a bucket.
pub fn headers(decision: &crate::accounts::rate_limit::Decision) -> [(HeaderName, HeaderValue); 3] {
    let (limit, remaining, reset) = match decision {
        Ok(allowed) => (allowed.limit, allowed.remaining, allowed.reset_secs),
        Err(refused) => (refused.limit, 0, refused.retry_after_secs),
    };
    [
        (LIMIT, HeaderValue::from(limit)),
        (REMAINING, HeaderValue::from(remaining)),
        (RESET, HeaderValue::from(reset)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_searches_writes_and_bulk_are_charged_by_kind() {
        let get = Charge::of(&Method::GET, "/scim/v2/Users", b"");
        assert_eq!((get.bucket, get.cost), (Bucket::Read, 1));
        let search = Charge::of(&Method::POST, "/scim/v2/Users/.search", b"{}");
        assert_eq!(search.bucket, Bucket::Read);
        let create = Charge::of(&Method::POST, "/scim/v2/Users", b"{}");
        assert_eq!((create.bucket, create.cost), (Bucket::Write, 1));
        let bulk = Charge::of(
            &Method::POST,
            "/scim/v2/Bulk",
            br#"{"Operations": [{"method":"POST"}, {"method":"POST"}, {"method":"DELETE"}]}"#,
        );
        assert_eq!((bulk.bucket, bulk.cost), (Bucket::Write, 3));
        let broken = Charge::of(&Method::POST, "/scim/v2/Bulk", b"not json");
        assert_eq!(broken.cost, 1);
    }
}
