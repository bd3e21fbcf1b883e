//! Who is asking, per request, and the rule that only `login` (and introspection, while
//! enabled) may be asked without signing in.
use async_graphql::{
    Context,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};
use sea_orm::DatabaseConnection;
use std::net::IpAddr;

use super::guard::Fragments;
use crate::service::{ServiceError, auth::Principal, sign_ins, tenancy::SubmissionScope};

/// The caller of one request.
#[derive(Clone, Debug)]
pub enum Session {
    /// No `Authorization` header.
    Anonymous,
    /// A header whose token is unknown, expired, revoked, or of a disabled user.
    Refused,
    SignedIn {
        principal: Principal,
        scope: SubmissionScope,
        token: String,
    },
}

impl Session {
    /// The session a bearer token stands for, as of now: `Refused` for a token that is
    /// unknown, expired, revoked or whose user is disabled.
    pub async fn from_token(db: &DatabaseConnection, token: &str) -> Result<Self, ServiceError> {
        match sign_ins::check(db, token).await {
            Ok((principal, scope)) => Ok(Self::SignedIn {
                principal,
                scope,
                token: token.to_owned(),
            }),
            Err(ServiceError::Unauthenticated) => Ok(Self::Refused),
            Err(other) => Err(other),
        }
    }
}

/// Marks the data of a long-lived connection (a WebSocket) signed in with this token.
/// Its rights are checked again for every operation and every event, so that a
/// connection loses them the moment its token or user does.
#[derive(Clone, Debug)]
pub struct LiveToken(pub String);

/// The network address a request came from, where the transport knows it (sign-ins are
/// throttled per address).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub IpAddr);

pub fn client_address(ctx: &Context<'_>) -> Option<IpAddr> {
    ctx.data_opt::<ClientAddress>().map(|address| address.0)
}

pub fn session<'a>(ctx: &'a Context<'_>) -> &'a Session {
    ctx.data_opt::<Session>().unwrap_or(&Session::Anonymous)
}

/// The signed-in principal and its submission scope, or UNAUTHENTICATED.
pub fn signed_in<'a>(
    ctx: &'a Context<'_>,
) -> Result<(&'a Principal, &'a SubmissionScope), ServiceError> {
    match session(ctx) {
        Session::SignedIn {
            principal, scope, ..
        } => Ok((principal, scope)),
        _ => Err(ServiceError::Unauthenticated),
    }
}

/// The caller's submission scope where signed in: catalog lists take it so that their
/// filters reach the caller's submissions (an anonymous caller's reach none).
pub fn scope_if_signed_in<'a>(ctx: &'a Context<'_>) -> Option<&'a SubmissionScope> {
    signed_in(ctx).ok().map(|(_, scope)| scope)
}

/// Root fields anyone may ask for.
const PUBLIC_FIELDS: &[&str] = &["login", "__schema", "__type", "__typename"];

/// Whether a selection set asks only for public root fields (a fragment met again
/// inside itself, invalid GraphQL, answers "not public").
fn only_public<'a>(fragments: &mut Fragments<'a, &'a str, bool>, set: &'a SelectionSet) -> bool {
    set.items.iter().all(|item| match &item.node {
        Selection::Field(field) => PUBLIC_FIELDS.contains(&field.node.name.node.as_str()),
        Selection::FragmentSpread(spread) => {
            let name = spread.node.fragment_name.node.as_str();
            fragments.value(name, name, false, false, only_public)
        }
        Selection::InlineFragment(inline) => {
            only_public(fragments, &inline.node.selection_set.node)
        }
    })
}

/// Whether every operation of a document asks only for root fields anyone may ask for
/// (`login`, and introspection while enabled): the rest need a signed-in caller.
pub fn asks_only_public(doc: &ExecutableDocument) -> bool {
    let mut fragments = Fragments::new(doc);
    doc.operations
        .iter()
        .all(|(_, op)| only_public(&mut fragments, &op.node.selection_set.node))
}
