//! The workloads as step functions over the load generator: what each step sends and what answer
//! counts as success. A step that gets another status, or a lookup that finds the wrong number of
//! users, is an error.

use serde_json::json;

use super::client::Client;
use super::load::{self, Measurement, Stop, Target, expect, mix};
use super::payload::Person;

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET /scim/v2/Users?filter=…` expecting `total` results.
fn lookup(client: &mut Client, filter: &str, total: u32) -> Result<(), String> {
    let path = format!("/scim/v2/Users?filter={}", encode(filter));
    let answer = expect(client.send("GET", &path, None), 200)?;
    let wanted = format!("\"totalResults\":{total}");
    if !answer.text().contains(&wanted) {
        return Err(format!("{filter}: expected {wanted}"));
    }
    Ok(())
}

/// `GET /healthz`: the HTTP ceiling (no database, no token).
pub fn healthz(target: &Target, concurrency: usize, stop: Stop) -> Measurement {
    let target = Target {
        token: String::new(),
        ..target.clone()
    };
    load::drive(&target, concurrency, stop, &|client, _| {
        expect(client.send("GET", "/healthz", None), 200).map(drop)
    })
}

/// The hardening issue's High finding as a load: a SearchRequest whose `excludedAttributes` names
/// `title` 100,000 times (about 0.9 MB).
pub fn flood_body() -> Vec<u8> {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "excludedAttributes": vec!["title"; 100_000],
    })
    .to_string()
    .into_bytes()
}

/// A1: `GET /healthz` on one connection while `flooders` clients without a valid token send
/// [`flood_body`] to `POST /.search` in a loop, for the same time. Returns the probe's and the
/// flood's measurements; every flood request must be answered 401.
pub fn healthz_under_flood(
    target: &Target,
    flooders: usize,
    stop: Stop,
) -> (Measurement, Measurement) {
    let body = flood_body();
    let flood_target = Target {
        token: "mts_not-a-valid-token".to_owned(),
        ..target.clone()
    };
    std::thread::scope(|s| {
        let flood = s.spawn(|| {
            load::drive(&flood_target, flooders, stop, &|client, _| {
                expect(client.send("POST", "/scim/v2/.search", Some(&body)), 401).map(drop)
            })
        });
        let probe = healthz(target, 1, stop);
        (probe, flood.join().expect("the flood threads do not panic"))
    })
}

/// W1, Entra's initial sync: per user a `userName eq` lookup that misses, then the create.
pub fn entra_sync(target: &Target, tag: &str, users: u64, concurrency: usize) -> Measurement {
    load::drive(target, concurrency, Stop::Steps(users), &|client, n| {
        let person = Person { tag, n };
        lookup(
            client,
            &format!("userName eq \"{}\"", person.user_name()),
            0,
        )?;
        let body = person.entra_body().to_string();
        expect(
            client.send("POST", "/scim/v2/Users", Some(body.as_bytes())),
            201,
        )
        .map(drop)
    })
}

/// W3: `GET /Users/{id}` of random users among `ids`.
pub fn read_by_id(target: &Target, ids: &[String], concurrency: usize, stop: Stop) -> Measurement {
    load::drive(target, concurrency, stop, &|client, i| {
        let id = &ids[(mix(i) % ids.len() as u64) as usize];
        expect(
            client.send("GET", &format!("/scim/v2/Users/{id}"), None),
            200,
        )
        .map(drop)
    })
}

/// The three lookups of W4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// `userName eq "…"`.
    UserName,
    /// `externalId eq "…"`.
    ExternalId,
    /// `emails[type eq "work"].value eq "…"` (Entra's form, rewritten by the server).
    WorkEmail,
}

impl Lookup {
    /// All three.
    pub const ALL: [Lookup; 3] = [Lookup::UserName, Lookup::ExternalId, Lookup::WorkEmail];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Lookup::UserName => "userName eq",
            Lookup::ExternalId => "externalId eq",
            Lookup::WorkEmail => "emails[type eq \"work\"].value eq",
        }
    }

    fn filter(self, person: Person<'_>) -> String {
        match self {
            Lookup::UserName => format!("userName eq \"{}\"", person.user_name()),
            Lookup::ExternalId => format!("externalId eq \"{}\"", person.external_id()),
            Lookup::WorkEmail => {
                format!(
                    "emails[type eq \"work\"].value eq \"{}\"",
                    person.work_email()
                )
            }
        }
    }
}

/// W4: a lookup that finds one of the `users` seeded users (tag `tag`).
pub fn find(
    target: &Target,
    kind: Lookup,
    tag: &str,
    users: u64,
    concurrency: usize,
    stop: Stop,
) -> Measurement {
    load::drive(target, concurrency, stop, &|client, i| {
        let person = Person {
            tag,
            n: mix(i) % users,
        };
        lookup(client, &kind.filter(person), 1)
    })
}

/// W7: adds one member per step to `group`, the users `candidates` in turn (none of them a member).
pub fn add_member(
    target: &Target,
    group: &str,
    candidates: &[String],
    concurrency: usize,
) -> Measurement {
    let path = format!("/scim/v2/Groups/{group}");
    load::drive(
        target,
        concurrency,
        Stop::Steps(candidates.len() as u64),
        &|client, i| {
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Add", "path": "members",
                                "value": [{"$ref": null, "value": candidates[i as usize]}]}]
            })
            .to_string();
            expect(client.send("PATCH", &path, Some(body.as_bytes())), 204).map(drop)
        },
    )
}

/// W8: `GET /Groups/{id}?excludedAttributes=members`, as Entra reads a group.
pub fn read_group(target: &Target, group: &str, concurrency: usize, stop: Stop) -> Measurement {
    let path = format!("/scim/v2/Groups/{group}?excludedAttributes=members");
    load::drive(target, concurrency, stop, &|client, _| {
        let answer = expect(client.send("GET", &path, None), 200)?;
        if answer.text().contains("\"members\"") {
            return Err("members came back despite excludedAttributes=members".into());
        }
        Ok(())
    })
}

/// The BulkRequest of B1: one `POST /Users` of W1's Entra body per user of `users` (tag `tag`),
/// each with a `bulkId`.
pub fn bulk_body(tag: &str, users: std::ops::Range<u64>) -> String {
    let operations: Vec<_> = users
        .map(|n| {
            json!({
                "method": "POST",
                "path": "/Users",
                "bulkId": format!("u{n}"),
                "data": Person { tag, n }.entra_body(),
            })
        })
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": operations,
    })
    .to_string()
}

/// B1, Entra's initial sync in bulk: `requests` Bulk requests of `per_request` user creates each
/// (W1's bodies), every operation of which must answer 201. A step is one request; the
/// measurement counts operations as its steps (users created).
pub fn bulk_sync(
    target: &Target,
    tag: &str,
    requests: u64,
    per_request: u64,
    concurrency: usize,
) -> Measurement {
    let measurement = load::drive(target, concurrency, Stop::Steps(requests), &|client, i| {
        let first = i * per_request;
        let body = bulk_body(tag, first..first + per_request);
        let answer = expect(
            client.send("POST", "/scim/v2/Bulk", Some(body.as_bytes())),
            200,
        )?;
        let response: serde_json::Value =
            serde_json::from_slice(&answer.body).map_err(|e| format!("not JSON: {e}"))?;
        let operations = response["Operations"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        let created = operations.iter().filter(|o| o["status"] == "201").count();
        if created as u64 != per_request {
            let failed = operations.iter().find(|o| o["status"] != "201");
            return Err(format!(
                "{created} of {per_request} operations created; first failure: {}",
                failed.map(ToString::to_string).unwrap_or_default()
            ));
        }
        Ok(())
    });
    measurement.counting_operations(per_request)
}

/// What a sequential walk over a list measured: every page's latency in order.
#[derive(Debug, Default)]
pub struct Walk {
    /// Each page's latency, microseconds, in the order read.
    pub latencies_us: Vec<u32>,
    /// Resources seen in all.
    pub resources: u64,
    /// Wall time of the walk.
    pub seconds: f64,
    /// What went wrong, if anything (the walk stops there).
    pub error: Option<String>,
}

/// A number in a ListResponse's text (`"itemsPerPage":100`).
fn number_after(text: &str, key: &str) -> Option<u64> {
    let at = text.rfind(key)? + key.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// C1: walks `/Users` by cursor from the first page to the last, `count` to a page, sorted by
/// `sort_by` or unsorted, on one connection; every page but the last must be full and the walk
/// must see `expected` users. The page's fields are found in its text (the keys of a
/// ListResponse come after `Resources`), so the client spends little on a page.
pub fn cursor_walk(target: &Target, sort_by: Option<&str>, count: u64, expected: u64) -> Walk {
    let started = std::time::Instant::now();
    let mut client = Client::new(target.addr, &target.host, &target.token);
    let sort = sort_by.map_or(String::new(), |s| format!("&sortBy={}", encode(s)));
    let mut walk = Walk::default();
    let mut cursor = String::new();
    let outcome = loop {
        let path = format!(
            "/scim/v2/Users?count={count}{sort}&cursor={}",
            encode(&cursor)
        );
        let answer = match expect(client.send("GET", &path, None), 200) {
            Ok(answer) => answer,
            Err(e) => break Err(e),
        };
        let text = answer.text();
        let Some(items) = number_after(&text, "\"itemsPerPage\":") else {
            break Err("a page without itemsPerPage".into());
        };
        walk.resources += items;
        let next = text.rfind("\"nextCursor\":\"").map(|at| {
            let rest = &text[at + "\"nextCursor\":\"".len()..];
            rest[..rest.find('"').unwrap_or(rest.len())].to_owned()
        });
        match next {
            Some(next) if items == count => cursor = next,
            Some(_) => break Err(format!("a page of {items} of {count} before the last")),
            None => break Ok(()),
        }
    };
    walk.latencies_us = std::mem::take(&mut client.latencies_us);
    walk.seconds = started.elapsed().as_secs_f64();
    walk.error = match outcome {
        Err(e) => Some(e),
        Ok(()) if walk.resources != expected => Some(format!(
            "the walk saw {} users of {expected}",
            walk.resources
        )),
        Ok(()) => None,
    };
    walk
}

/// C1's contrast: `/Users` by `startIndex`, the first `pages` pages and the last `pages` pages of
/// `total` users (`count` to a page), on one connection. Returns each side's latencies.
pub fn index_pages(
    target: &Target,
    sort_by: Option<&str>,
    count: u64,
    total: u64,
    pages: u64,
) -> (Walk, Walk) {
    let sort = sort_by.map_or(String::new(), |s| format!("&sortBy={}", encode(s)));
    let last_start = total.saturating_sub(pages * count) + 1;
    let side = |first_index: u64| {
        let started = std::time::Instant::now();
        let mut client = Client::new(target.addr, &target.host, &target.token);
        let mut walk = Walk::default();
        for page in 0..pages {
            let start = first_index + page * count;
            let path = format!("/scim/v2/Users?startIndex={start}&count={count}{sort}");
            match expect(client.send("GET", &path, None), 200) {
                Ok(answer) => {
                    let items = number_after(&answer.text(), "\"itemsPerPage\":").unwrap_or(0);
                    if items != count.min(total.saturating_sub(start - 1)) {
                        walk.error = Some(format!("startIndex {start}: {items} users"));
                    }
                    walk.resources += items;
                }
                Err(e) => walk.error = Some(e),
            }
            if walk.error.is_some() {
                break;
            }
        }
        walk.latencies_us = std::mem::take(&mut client.latencies_us);
        walk.seconds = started.elapsed().as_secs_f64();
        walk
    };
    (side(1), side(last_start))
}
