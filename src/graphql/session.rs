//! Who is asking, per request, and the rule that only `login` (and introspection, while
//! enabled) may be asked without signing in.
use async_graphql::{
    Context, Request, ServerResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
    },
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};
use sea_orm::DatabaseConnection;
use std::{collections::HashMap, net::IpAddr, sync::Arc};

use super::{error::request_error, loaders::live_tenant_loaders};
use crate::service::{
    ServiceError,
    auth::{self, Principal},
    tenancy::SubmissionScope,
};

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
        match auth::authenticate(db, token).await {
            Ok(principal) => {
                let scope = SubmissionScope::of(db, &principal).await?;
                Ok(Self::SignedIn {
                    principal,
                    scope,
                    token: token.to_owned(),
                })
            }
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

/// Whether a selection set asks only for public root fields. Each fragment is looked at
/// once, so a fragment graph costs no more than its size.
fn only_public<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    seen: &mut HashMap<&'a str, bool>,
) -> bool {
    set.items.iter().all(|item| match &item.node {
        Selection::Field(field) => PUBLIC_FIELDS.contains(&field.node.name.node.as_str()),
        Selection::FragmentSpread(spread) => {
            let name = spread.node.fragment_name.node.as_str();
            if let Some(known) = seen.get(name) {
                return *known;
            }
            // A cycle is invalid GraphQL; meeting the fragment again answers "not public".
            seen.insert(name, false);
            let public = doc
                .fragments
                .get(name)
                .is_some_and(|f| only_public(doc, &f.node.selection_set.node, seen));
            seen.insert(name, public);
            public
        }
        Selection::InlineFragment(inline) => {
            only_public(doc, &inline.node.selection_set.node, seen)
        }
    })
}

/// Refuses operations that need a signed-in caller when there is none, and gives each
/// operation of a long-lived connection the session its token stands for now.
pub struct RequireSignIn;

impl ExtensionFactory for RequireSignIn {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequireSignInExtension)
    }
}

struct RequireSignInExtension;

#[async_graphql::async_trait::async_trait]
impl Extension for RequireSignInExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let Some(LiveToken(token)) = ctx.data_opt::<LiveToken>() else {
            return next.run(ctx, request).await;
        };
        let db = ctx.data_unchecked::<DatabaseConnection>();
        let refused = || request_error(&ServiceError::Unauthenticated);
        let session = Session::from_token(db, token)
            .await
            .map_err(|e| request_error(&e))?;
        let Session::SignedIn { scope, .. } = &session else {
            return Err(refused());
        };
        // Loaders of a long-lived connection must not serve yesterday's rows.
        let tenant = live_tenant_loaders(db.clone(), scope.clone());
        next.run(ctx, request.data(tenant).data(session)).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let signed_in = matches!(ctx.data_opt::<Session>(), Some(Session::SignedIn { .. }));
        let public = doc
            .operations
            .iter()
            .all(|(_, op)| only_public(&doc, &op.node.selection_set.node, &mut HashMap::new()));
        if signed_in || public {
            Ok(doc)
        } else {
            Err(request_error(&ServiceError::Unauthenticated))
        }
    }
}
