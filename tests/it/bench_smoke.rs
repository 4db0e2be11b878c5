//! The benchmark's seeder writes what the API writes: a user and a group seeded through the
//! database layer read back exactly as the same user and group created over SCIM (ids and times
//! aside), and Entra's three lookups find the seeded user.

use mobietrain_scim::bench::payload::Person;
use mobietrain_scim::bench::seed;
use mobietrain_scim::clock::{Clock, SystemClock};
use serde_json::{Value, json};

use crate::harness::TestApp;

/// `resource` without what differs between two creates of the same content.
fn comparable(mut resource: Value) -> Value {
    let obj = resource.as_object_mut().expect("a resource is an object");
    obj.remove("id");
    obj.remove("meta");
    resource
}

#[actix_web::test]
async fn seeded_users_and_groups_read_as_created_ones() {
    let app = TestApp::new();
    let now = SystemClock.now_naive();
    let (seeded, created) = {
        let mut conn = app.conn();
        (
            seed::tenant(&mut conn, "seeded", now).unwrap(),
            seed::tenant(&mut conn, "created", now).unwrap(),
        )
    };
    let person = Person { tag: "t", n: 7 };
    let ids = seed::users(&mut app.conn(), &seeded, "t", 5..9, now).unwrap();
    assert_eq!(ids.len(), 4);
    let posted = app
        .post("/scim/v2/Users", &created.token, &person.entra_body())
        .await;
    assert_eq!(posted.status, 201, "{}", posted.body);

    let from_seed = app
        .get(&format!("/scim/v2/Users/{}", ids[2]), &seeded.token)
        .await;
    assert_eq!(from_seed.status, 200, "{}", from_seed.body);
    let from_api = app
        .get(
            &format!("/scim/v2/Users/{}", posted.body["id"].as_str().unwrap()),
            &created.token,
        )
        .await;
    assert_eq!(
        comparable(from_seed.body.clone()),
        comparable(from_api.body.clone())
    );
    // The same user version; the digest part differs, for the tag covers the store's id (each
    // tenant has its own store rows).
    let version = |r: &crate::harness::Resp| {
        let tag = r.header("etag").unwrap();
        tag.split('-').next().unwrap().to_owned()
    };
    assert_eq!(version(&from_seed), version(&from_api));

    for filter in [
        format!("userName eq \"{}\"", person.user_name().to_uppercase()),
        format!("externalId eq \"{}\"", person.external_id()),
        format!(
            "emails[type eq \"work\"].value eq \"{}\"",
            person.work_email().to_lowercase()
        ),
    ] {
        let url = format!(
            "/scim/v2/Users?filter={}",
            mobietrain_scim::bench::encode(&filter)
        );
        let found = app.get(&url, &seeded.token).await;
        assert_eq!(found.status, 200, "{}", found.body);
        assert_eq!(found.body["totalResults"], json!(1), "{filter}");
        assert_eq!(found.body["Resources"][0]["id"], json!(ids[2]), "{filter}");
    }

    let group = seed::group(&mut app.conn(), &seeded, "g", &ids[..2], now).unwrap();
    let posted = app
        .post(
            "/scim/v2/Groups",
            &created.token,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "g", "externalId": "ext-g", "members": []}),
        )
        .await;
    assert_eq!(posted.status, 201, "{}", posted.body);
    let path = "?excludedAttributes=members";
    let from_seed = app
        .get(&format!("/scim/v2/Groups/{group}{path}"), &seeded.token)
        .await;
    let from_api = app
        .get(
            &format!(
                "/scim/v2/Groups/{}{path}",
                posted.body["id"].as_str().unwrap()
            ),
            &created.token,
        )
        .await;
    assert_eq!(comparable(from_seed.body), comparable(from_api.body));
    let members = app
        .get(&format!("/scim/v2/Groups/{group}"), &seeded.token)
        .await;
    assert_eq!(members.body["members"].as_array().map(Vec::len), Some(2));
}
