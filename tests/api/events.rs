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
    fixtures::{draft, field, review, submit, task_id},
    on_both_databases,
    support::TestApp,
};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(addr: SocketAddr, payload: Value) -> Socket {
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
    field(
        &submit(&anlao, &other, other_version).await,
        "submitSubmission",
    );
    assert_eq!(
        next_event(&mut coordinator).await,
        ("SUBMITTED".into(), other.clone(), "ubnd-an-lao".into())
    );
    assert_eq!(next_event(&mut anlao_events).await.0, "SUBMITTED");

    // A forged token is refused at connection; without a token, a subscription is
    // refused with UNAUTHENTICATED and no data.
    let mut forged = connect(listen_on, json!({ "Authorization": "Bearer forged" })).await;
    let answer = next_message(&mut forged, Duration::from_secs(5)).await;
    assert!(answer.is_none(), "forged token acknowledged: {answer:?}");
    let mut anonymous = connect(listen_on, json!({})).await;
    assert_eq!(
        next_message(&mut anonymous, Duration::from_secs(5))
            .await
            .unwrap()["type"],
        "connection_ack"
    );
    let query = "subscription { submissionEvents { kind } }";
    anonymous
        .send(Message::text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }).to_string(),
        ))
        .await
        .unwrap();
    let reply = next_message(&mut anonymous, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        reply["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{reply}"
    );
    assert_eq!(reply["payload"]["data"], Value::Null);
}

on_both_databases!(events_reach_whoever_may_see_them);
