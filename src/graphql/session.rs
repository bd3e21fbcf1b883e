//! Who is asking, per request, and the rule that only `login` (and introspection, while
//! enabled) may be asked without signing in.
use async_graphql::{
    Context, ErrorExtensions, Pos, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};
use std::{net::IpAddr, sync::Arc};

use crate::service::{ServiceError, auth::Principal, tenancy::SubmissionScope};

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

/// Root fields anyone may ask for.
const PUBLIC_FIELDS: &[&str] = &["login", "__schema", "__type", "__typename"];

fn only_public(doc: &ExecutableDocument, set: &SelectionSet, depth: usize) -> bool {
    // Fragments can spread each other; a cycle is invalid GraphQL anyway.
    if depth > 16 {
        return false;
    }
    set.items.iter().all(|item| match &item.node {
        Selection::Field(field) => PUBLIC_FIELDS.contains(&field.node.name.node.as_str()),
        Selection::FragmentSpread(spread) => doc
            .fragments
            .get(&spread.node.fragment_name.node)
            .is_some_and(|f| only_public(doc, &f.node.selection_set.node, depth + 1)),
        Selection::InlineFragment(inline) => {
            only_public(doc, &inline.node.selection_set.node, depth + 1)
        }
    })
}

/// Refuses operations that need a signed-in caller when there is none.
pub struct RequireSignIn;

impl ExtensionFactory for RequireSignIn {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequireSignInExtension)
    }
}

struct RequireSignInExtension;

#[async_graphql::async_trait::async_trait]
impl Extension for RequireSignInExtension {
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
            .all(|(_, op)| only_public(&doc, &op.node.selection_set.node, 0));
        if signed_in || public {
            Ok(doc)
        } else {
            Err(ServiceError::Unauthenticated
                .extend()
                .into_server_error(Pos::default()))
        }
    }
}
