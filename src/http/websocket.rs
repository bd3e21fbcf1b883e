//! GraphQL over WebSocket (graphql-transport-ws, and the older graphql-ws) at
//! `/graphql/ws`. The token comes in the connection_init payload, as
//! `{"Authorization": "Bearer <token>"}` or `{"token": "<token>"}`.
//!
//! A connection holds its rights only as long as its token and user do: every operation
//! and every event checks them again (see `graphql::session`), and a watcher closes the
//! socket with 4403 Forbidden once the token is revoked or expires or the user is
//! disabled.
use std::{
    future,
    net::SocketAddr,
    str::FromStr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_graphql::{
    Data, ErrorExtensions,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket as GraphQLStream, WebSocketProtocols, WsMessage},
};
use axum::{
    Extension,
    extract::{
        ConnectInfo, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header::SEC_WEBSOCKET_PROTOCOL},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt};

use super::{App, AppState};
use crate::{
    graphql::{
        guard::{self, MAX_BODY_JSON_VALUES},
        loaders::{live_loaders, live_tenant_loaders},
        session::{ClientAddress, LiveToken, Session},
    },
    service::ServiceError,
};

/// How often an open connection's token and user are checked again.
const RECHECK_EVERY: Duration = Duration::from_secs(5);

/// The close code of graphql-transport-ws for a refused or revoked sign-in.
const FORBIDDEN: u16 = 4403;
/// RFC 6455's "going away": the server is stopping; clients reconnect to the next one.
const GOING_AWAY: u16 = 1001;
/// RFC 6455's "message too big".
const MESSAGE_TOO_BIG: u16 = 1009;

/// What the connection knows of its sign-in.
#[derive(Default)]
struct SignIn {
    token: Option<String>,
    /// connection_init was refused for want of a valid token.
    refused: bool,
}

pub async fn graphql_ws(
    State(app): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Sign-in attempts over the socket are throttled by the client's address too.
    let client = peer.map(|Extension(ConnectInfo(address))| ClientAddress(address.ip()));
    // The first subprotocol the client offers that we speak.
    let protocol = headers
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|offered| {
            offered
                .split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        });
    let Some(protocol) = protocol else {
        return (
            StatusCode::BAD_REQUEST,
            "offer the subprotocol graphql-transport-ws (or graphql-ws)",
        )
            .into_response();
    };
    // A message is held to the size of a POST body (tungstenite's default is 64 MiB, and
    // its parsed JSON some sixty times that).
    let max_message = app.config.limits.max_body_bytes;
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .on_upgrade(move |socket| serve(app, socket, protocol, client))
}

async fn serve(
    app: AppState,
    socket: WebSocket,
    protocol: WebSocketProtocols,
    client: Option<ClientAddress>,
) {
    let (mut sink, stream) = socket.split();
    let sign_in = Arc::new(Mutex::new(SignIn::default()));
    // A message of more JSON values than a POST body may hold ends the connection, as
    // one over the size limit does, before async-graphql parses it.
    let too_many_values = Arc::new(AtomicBool::new(false));
    let refused_message = too_many_values.clone();
    let input = stream
        .take_while(move |message| {
            future::ready(match message {
                Ok(Message::Text(text)) => within_values(text.as_bytes(), &refused_message),
                Ok(Message::Binary(bytes)) => within_values(bytes, &refused_message),
                Ok(_) => true,
                Err(_) => false,
            })
        })
        .filter_map(|message| {
            future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                _ => None,
            })
        });
    let (init_app, init_sign_in, close_sign_in) = (app.clone(), sign_in.clone(), sign_in.clone());
    let mut connection = Data::default();
    if let Some(client) = client {
        connection.insert(client);
    }
    let outgoing = GraphQLStream::new(app.schema.clone(), input, protocol)
        .connection_data(connection)
        .on_connection_init(move |payload| async move {
            connection_data(&init_app, payload, &init_sign_in).await
        })
        .map(move |message| match message {
            WsMessage::Text(text) => Message::Text(text.into()),
            WsMessage::Close(code, reason) => {
                let refused = close_sign_in.lock().map(|s| s.refused).unwrap_or(false);
                close(if refused { FORBIDDEN } else { code }, reason)
            }
        });
    let revoked = rights_end(&app, &sign_in);
    let stopped = app.stopped();
    futures_util::pin_mut!(outgoing, revoked, stopped);
    loop {
        tokio::select! {
            message = outgoing.next() => match message {
                Some(message) => {
                    if sink.send(message).await.is_err() {
                        return;
                    }
                }
                None => {
                    if too_many_values.load(Ordering::SeqCst) {
                        let reason = format!(
                            "Message too big: at most {MAX_BODY_JSON_VALUES} JSON values"
                        );
                        let _ = sink.send(close(MESSAGE_TOO_BIG, reason)).await;
                    }
                    return;
                }
            },
            () = &mut revoked => {
                let _ = sink.send(close(FORBIDDEN, "Forbidden: the sign-in has ended".into())).await;
                return;
            }
            () = &mut stopped => {
                let _ = sink.send(close(GOING_AWAY, "Going away: the server is stopping".into())).await;
                return;
            }
        }
    }
}

/// Whether a message holds at most as many JSON values as a POST body may; notes it in
/// `refused` when not.
fn within_values(message: &[u8], refused: &AtomicBool) -> bool {
    let within = guard::json_values_within(message, MAX_BODY_JSON_VALUES).is_ok();
    if !within {
        refused.store(true, Ordering::SeqCst);
    }
    within
}

fn close(code: u16, reason: String) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Completes once the connection's token no longer stands for a signed-in user.
async fn rights_end(app: &App, sign_in: &Mutex<SignIn>) {
    let mut every = tokio::time::interval(RECHECK_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let token = sign_in.lock().ok().and_then(|s| s.token.clone());
        let Some(token) = token else {
            continue;
        };
        // A database that cannot answer ends nothing; each operation checks again.
        if let Ok(Session::Refused | Session::Anonymous) =
            Session::from_token(&app.db, &token).await
        {
            return;
        }
    }
}

async fn connection_data(
    app: &App,
    payload: serde_json::Value,
    sign_in: &Mutex<SignIn>,
) -> async_graphql::Result<Data> {
    let token = payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))
        .and_then(|v| v.as_str())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| payload.get("token").and_then(|v| v.as_str()))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let session = match &token {
        Some(token) => Session::from_token(&app.db, token)
            .await
            .map_err(|e| e.extend())?,
        None => Session::Refused,
    };
    let Session::SignedIn { scope, .. } = &session else {
        if let Ok(mut s) = sign_in.lock() {
            s.refused = true;
        }
        return Err(ServiceError::Unauthenticated.extend());
    };
    let mut data = Data::default();
    data.insert(live_loaders(app.db.clone()));
    data.insert(live_tenant_loaders(app.db.clone(), scope.clone()));
    if let Some(token) = token {
        data.insert(LiveToken(token.clone()));
        if let Ok(mut s) = sign_in.lock() {
            s.token = Some(token);
        }
    }
    data.insert(session);
    Ok(data)
}
