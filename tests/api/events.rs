//! Live submission events over graphql-transport-ws, filtered by the tenancy rule; on
//! PostgreSQL, written through one instance and received on another.
use std::{net::SocketAddr, time::Duration};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest},
};

use crate::{
    fixtures::{draft, field, review, save, submit, task_id},
    on_both_databases,
    support::TestApp,
};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn connect(addr: SocketAddr, payload: Value) -> Socket {
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = connect_async(request).await.expect("websocket");
    socket
        .send(Message::text(
            json!({ "type": "connection_init", "payload": payload }).to_string(),
        ))
        .await
        .unwrap();
    socket
}

/// The next protocol message (pings answered), or None when the socket closes or stays
/// silent for `wait`.
pub async fn next_message(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let message: Value = serde_json::from_str(&text).unwrap();
                if message["type"] == "ping" {
                    socket
                        .send(Message::text(json!({ "type": "pong" }).to_string()))
                        .await
                        .unwrap();
                    continue;
                }
                return Some(message);
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            _ => return None,
        }
    }
}

/// A signed-in subscriber to plan 768's events.
pub async fn subscribe(app: &TestApp, addr: SocketAddr, user: &str) -> Socket {
    let token = app.login(user).await;
    let mut socket = connect(addr, json!({ "Authorization": format!("Bearer {token}") })).await;
    let ack = next_message(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(
        ack.as_ref().map(|m| m["type"].clone()),
        Some(json!("connection_ack")),
        "{ack:?}"
    );
    let query = "subscription { submissionEvents(planCode: \"768/QĐ-UBND\") { kind at submission { id status agency { code } } } }";
    socket
        .send(Message::text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }).to_string(),
        ))
        .await
        .unwrap();
    socket
}

/// The next event: (kind, submission id, agency code).
async fn next_event(socket: &mut Socket) -> (String, String, String) {
    let message = next_message(socket, Duration::from_secs(20))
        .await
        .expect("an event");
    assert_eq!(message["type"], "next", "{message}");
    let event = &message["payload"]["data"]["submissionEvents"];
    (
        event["kind"].as_str().unwrap().to_owned(),
        event["submission"]["id"].as_str().unwrap().to_owned(),
        event["submission"]["agency"]["code"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

async fn events_reach_whoever_may_see_them(app: TestApp) {
    crate::fixtures::open_window(&app, "2024", 48).await.data();
    // Writes go through the in-process router; subscribers listen on a served instance:
    // on PostgreSQL a second one, so that events cross instances through LISTEN/NOTIFY.
    let listen_on = match app.backend {
        "postgres" => app.second_instance().await,
        _ => app.serve().await,
    };
    let mut coordinator = subscribe(&app, listen_on, "coordinator").await;
    let mut tayson_events = subscribe(&app, listen_on, "tayson").await;
    let mut anlao_events = subscribe(&app, listen_on, "anlao").await;
    // Let the subscriptions start before writing.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let tayson = app.client("tayson").await;
    let anlao = app.client("anlao").await;
    let coordinator_client = app.client("coordinator").await;
    let (id, version) = draft(&tayson, &task_id(&app, "I", Some(1)).await, "2024", "draft").await;
    assert_eq!(
        next_event(&mut tayson_events).await,
        ("CREATED".into(), id.clone(), "ubnd-tay-son".into())
    );
    let version = field(&submit(&tayson, &id, version).await, "submitSubmission")["version"]
        .as_i64()
        .unwrap();
    assert_eq!(
        next_event(&mut tayson_events).await,
        ("SUBMITTED".into(), id.clone(), "ubnd-tay-son".into())
    );
    // The coordinator never heard of the draft: its first event is the submit.
    assert_eq!(
        next_event(&mut coordinator).await,
        ("SUBMITTED".into(), id.clone(), "ubnd-tay-son".into())
    );
    field(
        &review(&coordinator_client, &id, version, "ACCEPT", None).await,
        "reviewSubmission",
    );
    assert_eq!(next_event(&mut coordinator).await.0, "ACCEPTED");
    assert_eq!(next_event(&mut tayson_events).await.0, "ACCEPTED");

    // An Lão heard nothing of Tây Sơn: its first event is its own draft, which in turn
    // does not reach the coordinator.
    let (other, other_version) =
        draft(&anlao, &task_id(&app, "I", Some(2)).await, "2024", "An Lão").await;
    assert_eq!(
        next_event(&mut anlao_events).await,
        ("CREATED".into(), other.clone(), "ubnd-an-lao".into())
    );
    // Saves in quick succession are heard of in the order they were made, however the
    // server sends them (several to a notification statement).
    let mut other_version = other_version;
    for n in 0..8 {
        let saved = save(
            &anlao,
            json!({ "taskId": task_id(&app, "I", Some(2)).await, "periodCode": "2024",
                    "summary": format!("An Lão, take {n}"), "expectedVersion": other_version }),
        )
        .await;
        other_version = field(&saved, "saveSubmission")["version"].as_i64().unwrap();
    }
    field(
        &submit(&anlao, &other, other_version).await,
        "submitSubmission",
    );
    assert_eq!(
        next_event(&mut coordinator).await,
        ("SUBMITTED".into(), other.clone(), "ubnd-an-lao".into())
    );
    let mut heard = Vec::new();
    for _ in 0..9 {
        heard.push(next_event(&mut anlao_events).await.0);
    }
    let mut made = vec!["UPDATED"; 8];
    made.push("SUBMITTED");
    assert_eq!(heard, made);

    // A forged token, or none, is refused at connection with 4403 Forbidden.
    for payload in [json!({ "Authorization": "Bearer forged" }), json!({})] {
        let mut refused = connect(listen_on, payload.clone()).await;
        assert_eq!(
            close_code(&mut refused, Duration::from_secs(5)).await,
            Some(4403),
            "{payload}"
        );
    }
}

/// The close code the server ends the socket with, skipping other messages; None when
/// it stays open for `wait`.
pub async fn close_code(socket: &mut Socket, wait: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => return Some(1006),
            Err(_) => return None,
        }
    }
}

/// Sends one operation over an open socket and returns its first answer.
async fn operation(socket: &mut Socket, id: &str, query: &str) -> Value {
    socket
        .send(Message::text(
            json!({ "id": id, "type": "subscribe", "payload": { "query": query } }).to_string(),
        ))
        .await
        .unwrap();
    loop {
        let message = next_message(socket, Duration::from_secs(10))
            .await
            .expect("an answer");
        if message["id"] == id {
            return message;
        }
    }
}

/// The next operation on the socket is refused, and the server closes it with 4403. The
/// server's watcher may close the socket first (it looks every few seconds), before the
/// operation is answered: then the close is the refusal.
async fn rights_have_ended(socket: &mut Socket, query: &str) {
    let sent = socket
        .send(Message::text(
            json!({ "id": "after", "type": "subscribe", "payload": { "query": query } })
                .to_string(),
        ))
        .await;
    if sent.is_ok() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, socket.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    let answer: Value = serde_json::from_str(&text).unwrap();
                    if answer["id"] != "after" {
                        continue;
                    }
                    assert_eq!(
                        answer["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
                        "{answer}"
                    );
                    break;
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    assert_eq!(frame.map(|f| u16::from(f.code)), Some(4403));
                    return;
                }
                Ok(Some(Ok(_))) => continue,
                other => panic!("neither an answer nor a close: {other:?}"),
            }
        }
    }
    assert_eq!(
        close_code(socket, Duration::from_secs(10)).await,
        Some(4403)
    );
}

async fn sockets_lose_their_rights_when_the_sign_in_ends(app: TestApp) {
    crate::fixtures::open_window(&app, "2024", 48).await.data();
    let addr = app.serve().await;
    let me = "{ me { user { username } } }";

    // Logout: the next operation on the socket is refused, and the socket is closed.
    let token = app.login("tayson").await;
    let mut socket = connect(addr, json!({ "Authorization": format!("Bearer {token}") })).await;
    assert_eq!(
        next_message(&mut socket, Duration::from_secs(10))
            .await
            .unwrap()["type"],
        "connection_ack"
    );
    let answer = operation(&mut socket, "1", me).await;
    assert_eq!(
        answer["payload"]["data"]["me"]["user"]["username"],
        "tayson"
    );
    let logout = app
        .send(
            "/graphql",
            &json!({ "query": "mutation { logout }" }),
            Some(&token),
        )
        .await;
    assert_eq!(logout.data()["logout"], true);
    rights_have_ended(&mut socket, me).await;

    // A disabled user: its subscription hears nothing more, its writes are refused, and
    // the socket is closed.
    let mut coordinator = subscribe(&app, addr, "coordinator").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let admin = app.client("admin").await;
    admin
        .graphql(
            "mutation { disableUser(username: \"coordinator\") { disabled } }",
            json!({}),
        )
        .await
        .data();
    let tayson = app.client("tayson").await;
    let (id, version) = draft(&tayson, &task_id(&app, "I", Some(1)).await, "2024", "x").await;
    submit(&tayson, &id, version).await.data();
    let heard = next_message(&mut coordinator, Duration::from_secs(10)).await;
    assert!(
        heard.as_ref().is_none_or(|m| m["type"] != "next"),
        "a disabled user heard an event: {heard:?}"
    );
    assert_eq!(
        close_code(&mut coordinator, Duration::from_secs(10)).await,
        Some(4403)
    );

    // An expired token ends the connection too.
    let token = app.login("anlao").await;
    let mut socket = connect(addr, json!({ "token": token })).await;
    assert_eq!(
        next_message(&mut socket, Duration::from_secs(10))
            .await
            .unwrap()["type"],
        "connection_ack"
    );
    use sea_orm::{EntityTrait, QueryFilter, sea_query::Expr};
    entity::api_token::Entity::update_many()
        .col_expr(
            entity::api_token::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .filter(Expr::cust("1 = 1"))
        .exec(&app.db)
        .await
        .unwrap();
    // Behind the server's back: a checked sign-in is taken on trust this long at most.
    tokio::time::sleep(plantrack::service::sign_ins::REUSE_FOR).await;
    let save = "mutation { saveSubmission(input: { taskId: \"x\", periodCode: \"2024\" }) { id } }";
    rights_have_ended(&mut socket, save).await;
}

/// A message of more JSON values than a POST body may hold is refused with 1009 (message
/// too big) before it is parsed, and one larger than a POST body ends the connection;
/// the server goes on serving.
async fn oversized_socket_messages_end_the_connection(app: TestApp) {
    let addr = app.serve().await;
    let token = app.login("tayson").await;
    let query = "query($f: SubmissionFilter) { submissions(filter: $f) { totalCount } }";
    let subscribe = |variables: Value| {
        Message::text(
            json!({ "id": "1", "type": "subscribe",
                    "payload": { "query": query, "variables": variables } })
            .to_string(),
        )
    };
    let signed_in = || async {
        let mut socket = connect(addr, json!({ "Authorization": format!("Bearer {token}") })).await;
        let ack = next_message(&mut socket, Duration::from_secs(10)).await;
        assert_eq!(ack.unwrap()["type"], "connection_ack");
        socket
    };

    let mut socket = signed_in().await;
    let values = json!({ "f": { "and": vec![json!({}); 25_000] } });
    socket.send(subscribe(values)).await.unwrap();
    assert_eq!(
        close_code(&mut socket, Duration::from_secs(10)).await,
        Some(1009)
    );

    let mut socket = signed_in().await;
    let padding = "x".repeat(2 * 1024 * 1024);
    let large = json!({ "f": { "search": padding } });
    // The server may close before the whole message is written.
    let _ = socket.send(subscribe(large)).await;
    let code = close_code(&mut socket, Duration::from_secs(10)).await;
    assert!(matches!(code, Some(c) if c != 1000), "{code:?}");

    // An ordinary operation on a new connection still runs.
    let mut socket = signed_in().await;
    socket.send(subscribe(json!({ "f": null }))).await.unwrap();
    let next = next_message(&mut socket, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(next["type"], "next", "{next}");
    assert!(
        next["payload"]["data"]["submissions"]["totalCount"].is_number(),
        "{next}"
    );
}

on_both_databases!(
    events_reach_whoever_may_see_them,
    sockets_lose_their_rights_when_the_sign_in_ends,
    oversized_socket_messages_end_the_connection
);
