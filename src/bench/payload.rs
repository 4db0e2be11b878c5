//! The synthetic Entra ID user of the benchmark, numbered: the same person as a SCIM body (the
//! CLIENTS.md E3 create, with the enterprise and MobieTrain extensions) and as the rows the server
//! stores for that body, so the seeder and the HTTP workloads describe identical users.

use serde_json::{Value, json};

/// How many distinct stores the synthetic users are spread over.
pub const STORES: usize = 100;

/// The ITU calling code of every synthetic store (Belgium).
pub const CALLING_CODE: &str = "32";

/// One synthetic user, numbered `n` within the run tag `tag`.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    /// A short tag that keeps users of different phases apart (`s` seeded, `w1c4` …).
    pub tag: &'a str,
    /// The user's number.
    pub n: u64,
}

impl Person<'_> {
    /// `userName`, which Entra maps from the user principal name.
    pub fn user_name(&self) -> String {
        format!("{}.user{}@bench.example.com", self.tag, self.n)
    }

    /// `externalId` (Entra's `mailNickname` or object id).
    pub fn external_id(&self) -> String {
        format!("{}-ext-{:010}", self.tag, self.n)
    }

    /// The work e-mail address (a different spelling of the case than the userName).
    pub fn work_email(&self) -> String {
        format!("{}.User{}@Bench.Example.com", self.tag, self.n)
    }

    /// `name.givenName`.
    pub fn given_name(&self) -> String {
        format!("Given{}", self.n)
    }

    /// `name.familyName`.
    pub fn family_name(&self) -> &'static str {
        "Benchmark"
    }

    /// `displayName` and `name.formatted`.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_name(), self.family_name())
    }

    /// The enterprise `employeeNumber`.
    pub fn employee_number(&self) -> String {
        format!("E{:08}", self.n)
    }

    /// The enterprise `department`.
    pub fn department(&self) -> &'static str {
        ["Retail", "Logistics", "Support", "Sales"][(self.n % 4) as usize]
    }

    /// `title`.
    pub fn title(&self) -> &'static str {
        "Store associate"
    }

    /// The index of the user's store, `0..STORES`.
    pub fn store(&self) -> usize {
        (self.n % STORES as u64) as usize
    }

    /// The body Entra ID posts to create this user (CLIENTS.md E3, with extensions).
    pub fn entra_body(&self) -> Value {
        let store = self.store();
        json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User"
            ],
            "externalId": self.external_id(),
            "userName": self.user_name(),
            "active": true,
            "displayName": self.display_name(),
            "emails": [{"primary": true, "type": "work", "value": self.work_email()}],
            "meta": {"resourceType": "User"},
            "name": {
                "formatted": self.display_name(),
                "familyName": self.family_name(),
                "givenName": self.given_name()
            },
            "roles": [],
            "title": self.title(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": self.employee_number(),
                "department": self.department()
            },
            "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User": {
                "storeRefId": store_ref(store),
                "storeName": store_name(store),
                "storeCountryCallingCode": CALLING_CODE
            }
        })
    }
}

/// The ref id of synthetic store `i`.
pub fn store_ref(i: usize) -> String {
    format!("BENCH-{i:03}")
}

/// The name of synthetic store `i`.
pub fn store_name(i: usize) -> String {
    format!("Bench store {i}")
}
