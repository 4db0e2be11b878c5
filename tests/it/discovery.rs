//! Discovery endpoints (RFC 7644 §4) and the HTTP error surface around them.

use actix_web::http::Method;
use serde_json::Value;

use crate::harness::TestApp;

#[actix_web::test]
async fn service_provider_config_resource_types_and_schemas() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let spc = app.get("/scim/v2/ServiceProviderConfig", &acct.scim).await;
    assert_eq!(spc.status, 200);
    assert_eq!(spc.body["filter"]["supported"], true);
    assert_eq!(spc.body["filter"]["maxResults"], 1000);
    for feature in ["patch", "sort", "etag"] {
        assert_eq!(spc.body[feature]["supported"], true, "{feature}");
    }
    assert_eq!(spc.body["bulk"]["supported"], true);
    assert_eq!(spc.body["bulk"]["maxOperations"], 1000);
    assert_eq!(spc.body["bulk"]["maxPayloadSize"], 1024 * 1024);
    assert_eq!(spc.body["pagination"]["cursor"], true);
    assert_eq!(spc.body["pagination"]["index"], true);
    assert_eq!(spc.body["pagination"]["defaultPaginationMethod"], "index");
    assert_eq!(spc.body["pagination"]["cursorTimeout"], 600);
    assert_eq!(
        spc.body["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );

    let types = app.get("/scim/v2/ResourceTypes", &acct.scim).await;
    assert_eq!(types.body["totalResults"], 2);
    let user_type = &types.body["Resources"][0];
    assert_eq!(user_type["endpoint"], "/Users");
    assert!(
        user_type["meta"]["location"]
            .as_str()
            .unwrap()
            .ends_with("/scim/v2/ResourceTypes/User")
    );

    let group_type = &types.body["Resources"][1];
    assert_eq!(group_type["endpoint"], "/Groups");
    assert_eq!(
        group_type["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:Group"
    );
    let one_type = app.get("/scim/v2/ResourceTypes/Group", &acct.scim).await;
    assert_eq!(one_type.status, 200);

    let schemas = app.get("/scim/v2/Schemas", &acct.scim).await;
    let ids: Vec<&str> = schemas.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:Group"
        ],
        "exactly the schemas of the served resource types"
    );
    // The seed's required attributes are marked required.
    let core = &schemas.body["Resources"][0]["attributes"];
    let name = core
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "name")
        .unwrap();
    for sub in ["givenName", "familyName"] {
        let attr = name["subAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == sub)
            .unwrap();
        assert_eq!(attr["required"], true, "{sub}");
    }
    let one = app
        .get(
            "/scim/v2/Schemas/urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User",
            &acct.scim,
        )
        .await;
    assert_eq!(one.status, 200);
    app.get("/scim/v2/Schemas/urn:nope", &acct.scim)
        .await
        .assert_scim_error(404, None);
    app.get("/scim/v2/ResourceTypes/Widget", &acct.scim)
        .await
        .assert_scim_error(404, None);
    app.get("/scim/v2/Schemas?filter=id%20eq%20%22x%22", &acct.scim)
        .await
        .assert_scim_error(403, None);
}

#[actix_web::test]
async fn unknown_routes_and_methods_get_scim_errors() {
    let app = TestApp::new();
    let acct = app.account("acme");
    app.get("/scim/v2/Widgets", &acct.scim)
        .await
        .assert_scim_error(404, None);
    app.call(Method::PATCH, "/scim/v2/Users", &acct.scim, None)
        .await
        .assert_scim_error(405, None);
    let health = app
        .send(actix_web::test::TestRequest::get().uri("/healthz"))
        .await;
    assert_eq!(health.status, 200);
    let ready = app
        .send(actix_web::test::TestRequest::get().uri("/readyz"))
        .await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["database"], "ok");
    assert_eq!(
        app.get("/admin/v1/nothing", &acct.admin).await.body["status"],
        Value::from(404)
    );
}
