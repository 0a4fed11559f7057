//! The LocalStack helpers against the LocalStack that `scripts/test.sh` starts.
#![allow(clippy::unwrap_used)]

use stagecraft_testkit::localstack::{
    REGION, apigateway_client, create_rest_api, endpoint_from_env, ensure_rest_api,
};

/// An id no other test uses, shaped like AWS's (10 lowercase letters and digits).
fn unique_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

#[tokio::test]
async fn a_created_api_has_the_chosen_id_and_can_be_deployed_to_a_stage() {
    let endpoint = endpoint_from_env();
    let id = unique_id();
    let created = create_rest_api(&endpoint, &id, "testkit-orders")
        .await
        .unwrap();
    assert_eq!(created, id);

    let client = apigateway_client(&endpoint, REGION);
    let api = client.get_rest_api().rest_api_id(&id).send().await.unwrap();
    assert_eq!(api.name(), Some("testkit-orders"));

    let deployment = client
        .create_deployment()
        .rest_api_id(&id)
        .stage_name("staging")
        .description("rev-1")
        .variables("backend", "orders-staging")
        .send()
        .await
        .unwrap();
    let stage = client
        .get_stage()
        .rest_api_id(&id)
        .stage_name("staging")
        .send()
        .await
        .unwrap();
    assert_eq!(stage.deployment_id(), deployment.id());
    assert_eq!(
        stage
            .variables()
            .unwrap()
            .get("backend")
            .map(String::as_str),
        Some("orders-staging")
    );
}

#[tokio::test]
async fn ensure_keeps_an_existing_api() {
    let endpoint = endpoint_from_env();
    let client = apigateway_client(&endpoint, REGION);
    let id = unique_id();
    assert!(ensure_rest_api(&client, &id, "first").await.unwrap());
    assert!(!ensure_rest_api(&client, &id, "second").await.unwrap());
    let api = client.get_rest_api().rest_api_id(&id).send().await.unwrap();
    assert_eq!(api.name(), Some("first"));
}
