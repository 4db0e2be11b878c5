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
