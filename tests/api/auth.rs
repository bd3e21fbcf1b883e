//! Sign-in, tokens and user administration.
use chrono::{Duration, Utc};
use entity::api_token;
use sea_orm::{EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;

use crate::{
    on_both_databases,
    support::{Client, PASSWORD, TestApp},
};

async fn anonymous_callers_get_only_login_and_introspection(app: TestApp) {
    let anonymous = app.anonymous();
    for query in [
        "{ plans { totalCount } }",
        "{ tasks { totalCount } }",
        "{ me { role } }",
        "{ submissions { totalCount } }",
    ] {
        let reply = anonymous.graphql(query, json!({})).await;
        assert_eq!(
            reply.error_code(),
            Some("UNAUTHENTICATED"),
            "{query}: {}",
            reply.body
        );
        assert_eq!(reply.body["data"], serde_json::Value::Null);
    }
    // A public field beside a private one does not open the private one.
    let reply = anonymous
        .graphql("{ __typename plans { totalCount } }", json!({}))
        .await;
    assert_eq!(reply.error_code(), Some("UNAUTHENTICATED"));
    let reply = anonymous
        .graphql(
            "query { ...F } fragment F on Query { plans { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(reply.error_code(), Some("UNAUTHENTICATED"));
    let reply = anonymous
        .graphql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(reply.data()["__schema"]["queryType"]["name"], "Query");

    let reply = anonymous
        .graphql(
            "mutation { login(username: \"tayson\", password: \"wrong password\") { token } }",
            json!({}),
        )
        .await;
    assert_eq!(reply.error_code(), Some("UNAUTHENTICATED"));
    let reply = anonymous
        .graphql(
            "mutation { login(username: \"nobody\", password: \"wrong password\") { token } }",
            json!({}),
        )
        .await;
    assert_eq!(reply.error_code(), Some("UNAUTHENTICATED"));
}

async fn me_tells_who_is_signed_in(app: TestApp) {
    let reply = app
        .anonymous()
        .graphql(
            "mutation($p: String!) { login(username: \"tayson\", password: $p) { token expiresAt user { username role agency { code } } } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    let login = &reply.data()["login"];
    assert_eq!(login["user"]["role"], "EDITOR");
    assert!(
        chrono::DateTime::parse_from_rfc3339(login["expiresAt"].as_str().unwrap()).is_ok()
            && login["expiresAt"].as_str().unwrap().ends_with('Z'),
        "RFC 3339 in UTC: {}",
        login["expiresAt"]
    );
    let client = Client {
        app: &app,
        token: Some(login["token"].as_str().unwrap().to_owned()),
    };
    let reply = client
        .graphql(
            "{ me { role user { username } agency { code kind } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        reply.data()["me"],
        json!({ "role": "EDITOR", "user": { "username": "tayson" }, "agency": { "code": "ubnd-tay-son", "kind": "DISTRICT" } })
    );
}

async fn logged_out_forged_expired_and_disabled_tokens_are_refused(app: TestApp) {
    async fn ask(client: &Client<'_>) -> Option<String> {
        client
            .graphql("{ me { role } }", json!({}))
            .await
            .error_code()
            .map(str::to_owned)
    }
    // Logged out.
    let client = app.client("anlao").await;
    assert_eq!(ask(&client).await, None);
    let reply = client.graphql("mutation { logout }", json!({})).await;
    assert_eq!(reply.data()["logout"], true);
    assert_eq!(ask(&client).await.as_deref(), Some("UNAUTHENTICATED"));
    // Forged.
    let forged = Client {
        app: &app,
        token: Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
    };
    assert_eq!(ask(&forged).await.as_deref(), Some("UNAUTHENTICATED"));
    // Expired.
    let client = app.client("tttt").await;
    assert_eq!(ask(&client).await, None);
    api_token::Entity::update_many()
        .col_expr(
            api_token::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::minutes(1)),
        )
        .filter(Expr::cust("1 = 1"))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(ask(&client).await.as_deref(), Some("UNAUTHENTICATED"));
    // Disabled: a live token stops working, and so does signing in.
    let client = app.client("nnptnt").await;
    assert_eq!(ask(&client).await, None);
    let admin = app.client("admin").await;
    let reply = admin
        .graphql(
            "mutation { disableUser(username: \"nnptnt\") { disabled } }",
            json!({}),
        )
        .await;
    assert_eq!(reply.data()["disableUser"]["disabled"], true);
    assert_eq!(ask(&client).await.as_deref(), Some("UNAUTHENTICATED"));
    let reply = app
        .anonymous()
        .graphql(
            "mutation($p: String!) { login(username: \"nnptnt\", password: $p) { token } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(reply.error_code(), Some("UNAUTHENTICATED"));
    admin
        .graphql(
            "mutation { enableUser(username: \"nnptnt\") { disabled } }",
            json!({}),
        )
        .await
        .data();
    assert_eq!(ask(&app.client("nnptnt").await).await, None);
}

async fn only_admins_manage_users(app: TestApp) {
    let create = "mutation($i: CreateUserInput!) { createUser(input: $i) { username role agency { code } } }";
    let input = json!({ "i": { "username": "phumy", "agency": "ubnd-phu-my", "role": "EDITOR", "password": "phu-my-password" } });
    let editor = app.client("tayson").await;
    assert_eq!(
        editor.graphql(create, input.clone()).await.error_code(),
        Some("FORBIDDEN")
    );
    let admin = app.client("admin").await;
    let reply = admin.graphql(create, input.clone()).await;
    assert_eq!(
        reply.data()["createUser"],
        json!({ "username": "phumy", "role": "EDITOR", "agency": { "code": "ubnd-phu-my" } })
    );
    assert_eq!(
        admin.graphql(create, input).await.error_code(),
        Some("BAD_USER_INPUT"),
        "taken username"
    );
    let bad = [
        json!({ "username": "x y", "agency": "ubnd-phu-my", "role": "EDITOR", "password": "long enough" }),
        json!({ "username": "ok-name", "agency": "no-such-agency", "role": "EDITOR", "password": "long enough" }),
        json!({ "username": "ok-name", "agency": "bo-noi-vu", "role": "EDITOR", "password": "long enough" }),
        json!({ "username": "ok-name", "agency": "ubnd-phu-my", "role": "EDITOR", "password": "short" }),
    ];
    for input in bad {
        assert_eq!(
            admin
                .graphql(create, json!({ "i": input }))
                .await
                .error_code(),
            Some("BAD_USER_INPUT"),
            "{input}"
        );
    }
    let reply = admin
        .graphql("mutation { resetPassword(username: \"phumy\", password: \"a new password\") { username } }", json!({}))
        .await;
    reply.data();
    let reply = app
        .anonymous()
        .graphql("mutation { login(username: \"phumy\", password: \"a new password\") { user { username } } }", json!({}))
        .await;
    assert_eq!(reply.data()["login"]["user"]["username"], "phumy");
    let reply = editor
        .graphql(
            "mutation { disableUser(username: \"anlao\") { disabled } }",
            json!({}),
        )
        .await;
    assert_eq!(reply.error_code(), Some("FORBIDDEN"));
}

on_both_databases!(
    anonymous_callers_get_only_login_and_introspection,
    me_tells_who_is_signed_in,
    logged_out_forged_expired_and_disabled_tokens_are_refused,
    only_admins_manage_users,
);
