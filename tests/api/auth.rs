//! Sign-in, tokens, throttling, passwords and user administration.
use std::{
    net::SocketAddr,
    num::{NonZeroU32, NonZeroU64},
};

use chrono::{Duration, Utc};
use entity::{api_token, audit_log, user};
use futures_util::future::join_all;
use plantrack::config::{LoginLimits, ServerConfig};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    fixtures::one_succeeded_others,
    on_both_databases,
    support::{Client, PASSWORD, TestApp, test_config},
};

const LOGIN: &str =
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }";

const CHANGE_PASSWORD: &str =
    "mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }";

async fn login_as(app: &TestApp, username: &str, password: &str) -> crate::support::Reply {
    app.anonymous()
        .graphql(LOGIN, json!({ "u": username, "p": password }))
        .await
}

/// `{ me }` as `client`: None when it works, else the error code.
async fn ask(client: &Client<'_>) -> Option<String> {
    client
        .graphql("{ me { role } }", json!({}))
        .await
        .error_code()
        .map(str::to_owned)
}

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
    // Logged out.
    let client = app.client("anlao").await;
    assert_eq!(ask(&client).await, None);
    let reply = client.graphql("mutation { logout }", json!({})).await;
    assert_eq!(reply.data()["logout"], true);
    assert_eq!(ask(&client).await.as_deref(), Some("UNAUTHENTICATED"));
    // Several logouts with one token at once: one ends the sign-in, the others find it
    // ended, as they would one after the other.
    let client = app.client("anlao").await;
    let replies = join_all((0..6).map(|_| client.graphql("mutation { logout }", json!({})))).await;
    one_succeeded_others(&replies, "UNAUTHENTICATED");
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
    // Changed in the database behind the server's back (as another instance or the command
    // line would): the server takes a checked sign-in on trust for at most this long.
    tokio::time::sleep(plantrack::service::sign_ins::REUSE_FOR).await;
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
    // Enabled again: a new sign-in works; the token from before stays revoked.
    assert_eq!(ask(&app.client("nnptnt").await).await, None);
    assert_eq!(ask(&client).await.as_deref(), Some("UNAUTHENTICATED"));
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
    // The same new name asked for several times at once: one user is made, the others
    // are told the name is taken (not a database error).
    let same = json!({ "i": { "username": "anlao2", "agency": "ubnd-an-lao", "role": "EDITOR", "password": "an-lao-password" } });
    let replies = join_all((0..8).map(|_| admin.graphql(create, same.clone()))).await;
    one_succeeded_others(&replies, "BAD_USER_INPUT");
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

async fn wrong_unknown_and_disabled_sign_ins_answer_alike(app: TestApp) {
    let admin = app.client("admin").await;
    admin
        .graphql(
            "mutation { disableUser(username: \"tttt\") { disabled } }",
            json!({}),
        )
        .await
        .data();
    let wrong_password = login_as(&app, "tayson", "not the password").await;
    let unknown_user = login_as(&app, "nobody-here", PASSWORD).await;
    let disabled_user = login_as(&app, "tttt", PASSWORD).await;
    for reply in [&wrong_password, &unknown_user, &disabled_user] {
        assert_eq!(
            reply.error_code(),
            Some("UNAUTHENTICATED"),
            "{}",
            reply.body
        );
        assert_eq!(
            reply.body["errors"][0]["message"], "wrong username or password",
            "{}",
            reply.body
        );
        assert_eq!(reply.body["data"], Value::Null);
    }
    // Word for word the same answer: nothing tells which usernames exist.
    assert_eq!(wrong_password.body, unknown_user.body);
    assert_eq!(wrong_password.body, disabled_user.body);
    assert_eq!(wrong_password.status, unknown_user.status);
    assert_eq!(wrong_password.status, disabled_user.status);
}

async fn overlong_passwords_are_bad_input(app: TestApp) {
    let long = "x".repeat(10_000);
    let admin = app.client("admin").await;
    let tayson = app.client("tayson").await;
    let replies = [
        ("login", login_as(&app, "tayson", &long).await),
        (
            "createUser",
            admin
                .graphql(
                    "mutation($i: CreateUserInput!) { createUser(input: $i) { username } }",
                    json!({ "i": { "username": "phumy", "agency": "ubnd-phu-my", "role": "EDITOR", "password": long } }),
                )
                .await,
        ),
        (
            "resetPassword",
            admin
                .graphql(
                    "mutation($p: String!) { resetPassword(username: \"anlao\", password: $p) { username } }",
                    json!({ "p": long }),
                )
                .await,
        ),
        (
            "changePassword new",
            tayson
                .graphql(CHANGE_PASSWORD, json!({ "o": PASSWORD, "n": long }))
                .await,
        ),
        (
            "changePassword old",
            tayson
                .graphql(CHANGE_PASSWORD, json!({ "o": long, "n": "a fine new password" }))
                .await,
        ),
    ];
    for (what, reply) in replies {
        assert_eq!(
            reply.error_code(),
            Some("BAD_USER_INPUT"),
            "{what}: {}",
            reply.body
        );
        assert!(
            reply.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("at most 256 characters"),
            "{what}: {}",
            reply.body
        );
    }
    // Nothing changed: the old passwords still work, and no user was added.
    login_as(&app, "anlao", PASSWORD).await.data();
    login_as(&app, "tayson", PASSWORD).await.data();
    let added = user::Entity::find()
        .filter(user::Column::Username.eq("phumy"))
        .one(&app.db)
        .await
        .unwrap();
    assert!(added.is_none());
}

fn tight_login_limits(user_burst: u32, address_burst: u32) -> ServerConfig {
    let mut config = test_config();
    config.limits.login = LoginLimits {
        user_burst: NonZeroU32::new(user_burst).unwrap(),
        user_period_secs: NonZeroU64::new(3600).unwrap(),
        address_burst: NonZeroU32::new(address_burst).unwrap(),
        address_period_secs: NonZeroU64::new(3600).unwrap(),
    };
    config
}

/// Throttling is kept in memory, not in the database: SQLite shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_are_throttled_per_username_and_per_address() {
    let app = TestApp::sqlite_with(tight_login_limits(3, 5)).await;
    let attempt = |from: &str, username: &str, password: &str| {
        let body = json!({ "query": LOGIN, "variables": { "u": username, "p": password } });
        let from = Some(from.parse::<SocketAddr>().unwrap());
        let app = &app;
        async move { app.send_from(from, "/graphql", &body, None).await }
    };
    let a = "198.51.100.7:50000";
    for _ in 0..3 {
        let reply = attempt(a, "tayson", "guess-guess").await;
        assert_eq!(
            reply.error_code(),
            Some("UNAUTHENTICATED"),
            "{}",
            reply.body
        );
    }
    // Past the username's quota, the right password is refused too, from any address.
    for from in [a, "203.0.113.9:41000"] {
        let reply = attempt(from, "tayson", PASSWORD).await;
        assert_eq!(
            reply.error_code(),
            Some("TOO_MANY_REQUESTS"),
            "{}",
            reply.body
        );
        assert_eq!(reply.body["data"], Value::Null);
        let message = reply.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("too many sign-in attempts"), "{message}");
        let retry = reply.body["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap_or_else(|| panic!("an integer retryAfterSeconds: {}", reply.body));
        assert!((1..=3600).contains(&retry), "{retry}");
    }
    // Another username from another address signs in.
    let reply = attempt("203.0.113.10:41000", "anlao", PASSWORD).await;
    assert!(reply.data()["login"]["token"].is_string());
    // Address a made 4 attempts of its 5; its 6th is refused, whoever it names.
    attempt(a, "coordinator", PASSWORD).await.data();
    let reply = attempt(a, "admin", PASSWORD).await;
    assert_eq!(
        reply.error_code(),
        Some("TOO_MANY_REQUESTS"),
        "{}",
        reply.body
    );
    // An IPv6 client is one network: another address of the same /64 shares its quota.
    for host in ["[2001:db8:5:6::1]:1000", "[2001:db8:5:6::2]:1000"] {
        for _ in 0..3 {
            attempt(host, "nobody-here", "guess-guess").await;
        }
    }
    let reply = attempt("[2001:db8:5:6::3]:1000", "analyst", PASSWORD).await;
    assert_eq!(
        reply.error_code(),
        Some("TOO_MANY_REQUESTS"),
        "{}",
        reply.body
    );
}

/// A served router keys sign-ins by the peer address of the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_router_throttles_by_peer_address() {
    let app = TestApp::sqlite_with(tight_login_limits(100, 2)).await;
    let server = app.serve().await;
    for (username, code) in [
        ("tayson", None),
        ("anlao", None),
        ("coordinator", Some("TOO_MANY_REQUESTS")),
    ] {
        let body = json!({ "query": LOGIN, "variables": { "u": username, "p": PASSWORD } });
        let (status, reply) = post_over_tcp(server, &body).await;
        assert_eq!(status, 200);
        assert_eq!(
            reply["errors"][0]["extensions"]["code"].as_str(),
            code,
            "{username}: {reply}"
        );
    }
    // In-process requests come from no address, which has its own quota.
    login_as(&app, "coordinator", PASSWORD).await.data();
}

/// A minimal HTTP/1.1 POST of JSON to `/graphql`: the status and the JSON body.
async fn post_over_tcp(server: SocketAddr, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let mut stream = tokio::net::TcpStream::connect(server).await.unwrap();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap())
}

async fn reset_password_ends_the_users_sign_ins(app: TestApp) {
    let first = app.client("tayson").await;
    let second = app.client("tayson").await;
    assert_eq!(ask(&first).await, None);
    let admin = app.client("admin").await;
    let reply = admin
        .graphql(
            "mutation { resetPassword(username: \"tayson\", password: \"reset by admin\") { username } }",
            json!({}),
        )
        .await;
    assert_eq!(reply.data()["resetPassword"]["username"], "tayson");
    assert_eq!(ask(&first).await.as_deref(), Some("UNAUTHENTICATED"));
    assert_eq!(ask(&second).await.as_deref(), Some("UNAUTHENTICATED"));
    // Other users' sign-ins go on.
    assert_eq!(ask(&admin).await, None);
    assert_eq!(
        login_as(&app, "tayson", PASSWORD).await.error_code(),
        Some("UNAUTHENTICATED")
    );
    login_as(&app, "tayson", "reset by admin").await.data();
}

async fn change_password_needs_the_old_one_and_ends_other_sign_ins(app: TestApp) {
    let current = app.client("tayson").await;
    let other = app.client("tayson").await;
    let bystander = app.client("anlao").await;

    let reply = app
        .anonymous()
        .graphql(
            CHANGE_PASSWORD,
            json!({ "o": PASSWORD, "n": "new password 2" }),
        )
        .await;
    assert_eq!(
        reply.error_code(),
        Some("UNAUTHENTICATED"),
        "{}",
        reply.body
    );

    let reply = current
        .graphql(
            CHANGE_PASSWORD,
            json!({ "o": "not the password", "n": "new password 2" }),
        )
        .await;
    assert_eq!(
        reply.error_code(),
        Some("UNAUTHENTICATED"),
        "{}",
        reply.body
    );
    assert_eq!(
        reply.body["errors"][0]["message"],
        "the current password is wrong"
    );
    let reply = current
        .graphql(CHANGE_PASSWORD, json!({ "o": PASSWORD, "n": "short" }))
        .await;
    assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"), "{}", reply.body);
    // Refused changes change nothing.
    assert_eq!(ask(&other).await, None);

    let reply = current
        .graphql(
            CHANGE_PASSWORD,
            json!({ "o": PASSWORD, "n": "new password 2" }),
        )
        .await;
    assert_eq!(reply.data()["changePassword"], true);
    assert_eq!(
        ask(&current).await,
        None,
        "the sign-in that changed it goes on"
    );
    assert_eq!(ask(&other).await.as_deref(), Some("UNAUTHENTICATED"));
    assert_eq!(ask(&bystander).await, None);
    assert_eq!(
        login_as(&app, "tayson", PASSWORD).await.error_code(),
        Some("UNAUTHENTICATED")
    );
    login_as(&app, "tayson", "new password 2").await.data();

    // Audited like other user changes, by the user, without the hash.
    let tayson = user::Entity::find()
        .filter(user::Column::Username.eq("tayson"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    // Entries of users reach no tenant: read them as the owner.
    let audit = audit_log::Entity::find()
        .filter(audit_log::Column::Entity.eq("user"))
        .filter(audit_log::Column::EntityId.eq(tayson.id))
        .filter(audit_log::Column::Action.eq("change_password"))
        .all(&app.owner_db().await)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor_id, Some(tayson.id));
    assert!(!format!("{:?}", audit[0].after).contains("argon2"));
}

/// A sign-in checks the password outside any transaction (hashing is slow). One that
/// races a reset or a disabling, with the old password, gets no token that outlives them:
/// it either answers before and its token is revoked with the others, or it is refused.
/// A password change racing a reset cannot undo the reset.
async fn password_changes_win_their_races_with_sign_ins(app: TestApp) {
    let app = &app;
    let admin = app.client("admin").await;
    let sign_ins = |password: &'static str| {
        join_all((0..6u64).map(move |n| async move {
            tokio::time::sleep(std::time::Duration::from_millis(n * 7)).await;
            login_as(app, "tayson", password).await
        }))
    };
    let reset = |password: &'static str| {
        admin.graphql(
            "mutation($p: String!) { resetPassword(username: \"tayson\", password: $p) { username } }",
            json!({ "p": password }),
        )
    };
    let disable = |disabled: bool| {
        admin.graphql(
            if disabled {
                "mutation { disableUser(username: \"tayson\") { username } }"
            } else {
                "mutation { enableUser(username: \"tayson\") { username } }"
            },
            json!({}),
        )
    };
    let tokens_refused = |replies: Vec<crate::support::Reply>| async move {
        for reply in replies {
            if let Some(token) = reply.body["data"]["login"]["token"].as_str() {
                let client = Client {
                    app,
                    token: Some(token.to_owned()),
                };
                assert_eq!(
                    ask(&client).await.as_deref(),
                    Some("UNAUTHENTICATED"),
                    "a token signed in with the old password outlived the change"
                );
            }
        }
    };
    let (signed_in, reply) = tokio::join!(sign_ins(PASSWORD), reset("first reset pw"));
    reply.data();
    tokens_refused(signed_in).await;

    let (signed_in, reply) = tokio::join!(sign_ins("first reset pw"), disable(true));
    reply.data();
    disable(false).await.data();
    tokens_refused(signed_in).await;

    let signed_in = login_as(app, "tayson", "first reset pw").await;
    let tayson = Client {
        app,
        token: signed_in.data()["login"]["token"]
            .as_str()
            .map(str::to_owned),
    };
    let (changed, reply) = tokio::join!(
        tayson.graphql(
            CHANGE_PASSWORD,
            json!({ "o": "first reset pw", "n": "changed by tayson" })
        ),
        reset("second reset pw")
    );
    reply.data();
    assert!(
        matches!(changed.error_code(), None | Some("UNAUTHENTICATED")),
        "{}",
        changed.body
    );
    login_as(app, "tayson", "second reset pw").await.data();
    // Resets, disablings and enablings at once: each applies to what the one before it
    // left.
    let passwords = ["third reset pw", "fourth reset pw", "fifth reset pw"];
    let (resets, disabled, enabled) = tokio::join!(
        join_all(passwords.map(reset)),
        join_all((0..3).map(|_| disable(true))),
        join_all((0..3).map(|_| disable(false)))
    );
    for reply in resets.iter().chain(&disabled).chain(&enabled) {
        reply.data();
    }
    crate::fixtures::audit_trail_is_unbroken(app, "user").await;
    assert_eq!(
        login_as(app, "tayson", "changed by tayson")
            .await
            .error_code(),
        Some("UNAUTHENTICATED"),
        "the change undid the reset"
    );
}

on_both_databases!(
    anonymous_callers_get_only_login_and_introspection,
    me_tells_who_is_signed_in,
    logged_out_forged_expired_and_disabled_tokens_are_refused,
    only_admins_manage_users,
    wrong_unknown_and_disabled_sign_ins_answer_alike,
    overlong_passwords_are_bad_input,
    reset_password_ends_the_users_sign_ins,
    change_password_needs_the_old_one_and_ends_other_sign_ins,
    password_changes_win_their_races_with_sign_ins,
);
