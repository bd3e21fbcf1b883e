//! The subscription root: live submission events, filtered by the tenancy rule.
use async_graphql::{Context, Result, SimpleObject, Subscription as SubscriptionRoot};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::{
    error::IntoGql,
    scalars::Timestamp,
    session::{Session, session, signed_in},
    state::{db, events},
    tenant_types::Submission,
};
use crate::service::{ServiceError, catalog, events::SubmissionEventKind, submissions};

/// A change to a submission the subscriber may see.
#[derive(SimpleObject)]
pub struct SubmissionEvent {
    /// What happened.
    pub kind: SubmissionEventKind,
    /// When it happened.
    pub at: Timestamp,
    /// The submission as it is now.
    pub submission: Submission,
}

pub struct Subscription;

/// What becomes of one event for one subscriber.
enum Delivery {
    Send(Box<SubmissionEvent>),
    Skip,
    /// The subscriber's rights ended: the subscription completes.
    End,
}

/// Live updates, over a WebSocket at `/graphql/ws` (graphql-transport-ws, or the older
/// graphql-ws), signed in with the token in the `connection_init` payload. A subscription
/// ends when its token or user stops working.
#[SubscriptionRoot]
impl Subscription {
    /// Created, updated, submitted, returned and accepted submissions, as they happen,
    /// of one plan or of all. Drafts reach only their own agency; other events reach
    /// whoever may see the submission.
    async fn submission_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The plan whose events to send, by its code, e.g. \"768/QĐ-UBND\" (NOT_FOUND where there is none); every plan's where left out."
        )]
        plan_code: Option<String>,
    ) -> Result<impl Stream<Item = SubmissionEvent> + use<>> {
        let (_, scope) = signed_in(ctx).gql()?;
        let scope = scope.clone();
        let token = match session(ctx) {
            Session::SignedIn { token, .. } => token.clone(),
            _ => return Err(ServiceError::Unauthenticated).gql(),
        };
        let db = db(ctx).clone();
        let plan_id = match plan_code {
            Some(code) => Some(
                catalog::plan_by_code(&db, &code)
                    .await
                    .gql()?
                    .ok_or_else(|| ServiceError::not_found("plan"))
                    .gql()?
                    .id,
            ),
            None => None,
        };
        let received = BroadcastStream::new(events(ctx).subscribe());
        let stream = received
            .then(move |received| {
                let (db, scope, token) = (db.clone(), scope.clone(), token.clone());
                async move {
                    let Ok(event) = received else {
                        return Delivery::Skip;
                    };
                    // The rule decides on the submission as it was at the event, so that
                    // a draft edit is not revealed once the draft has been submitted.
                    let Some(status) = event.status() else {
                        return Delivery::Skip;
                    };
                    if plan_id.is_some_and(|p| p != event.plan_id)
                        || !scope.permits(event.agency_id, event.plan_id, status)
                    {
                        return Delivery::Skip;
                    }
                    // Rights end when the token or the user does: nothing more is sent.
                    if !matches!(
                        Session::from_token(&db, &token).await,
                        Ok(Session::SignedIn { .. })
                    ) {
                        return Delivery::End;
                    }
                    match submissions::by_ids(&db, &scope, &[event.submission_id]).await {
                        Ok(mut found) => match found.pop() {
                            Some(current) => Delivery::Send(Box::new(SubmissionEvent {
                                kind: event.kind,
                                at: event.at.into(),
                                submission: Submission::from(current),
                            })),
                            None => Delivery::Skip,
                        },
                        Err(_) => Delivery::Skip,
                    }
                }
            })
            .take_while(|delivery| std::future::ready(!matches!(delivery, Delivery::End)))
            .filter_map(|delivery| {
                std::future::ready(match delivery {
                    Delivery::Send(event) => Some(*event),
                    Delivery::Skip | Delivery::End => None,
                })
            });
        Ok(stream)
    }
}
