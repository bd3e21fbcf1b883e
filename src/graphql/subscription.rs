//! The subscription root: live submission events, filtered by the tenancy rule.
use async_graphql::{Context, Result, SimpleObject, Subscription as SubscriptionRoot};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::{
    error::IntoGql,
    scalars::Timestamp,
    session::signed_in,
    state::{db, events},
    tenant_types::Submission,
};
use crate::service::{ServiceError, catalog, events::SubmissionEventKind, submissions};

/// A change to a submission the subscriber may see.
#[derive(SimpleObject)]
pub struct SubmissionEvent {
    pub kind: SubmissionEventKind,
    pub at: Timestamp,
    /// The submission as it is now.
    pub submission: Submission,
}

pub struct Subscription;

#[SubscriptionRoot]
impl Subscription {
    /// Created, updated, submitted, returned and accepted submissions, as they happen,
    /// of one plan or of all. Drafts reach only their own agency; other events reach
    /// whoever may see the submission.
    async fn submission_events(
        &self,
        ctx: &Context<'_>,
        plan_code: Option<String>,
    ) -> Result<impl Stream<Item = SubmissionEvent> + use<>> {
        let (_, scope) = signed_in(ctx).gql()?;
        let scope = scope.clone();
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
        let stream = BroadcastStream::new(events(ctx).subscribe()).filter_map(move |received| {
            let db = db.clone();
            let scope = scope.clone();
            async move {
                let event = received.ok()?;
                // The rule decides on the submission as it was at the event, so that a
                // draft edit is not revealed once the draft has been submitted.
                let status = event.status()?;
                if plan_id.is_some_and(|p| p != event.plan_id)
                    || !scope.permits(event.agency_id, event.plan_id, status)
                {
                    return None;
                }
                let current = submissions::by_ids(&db, &scope, &[event.submission_id])
                    .await
                    .ok()?
                    .pop()?;
                Some(SubmissionEvent {
                    kind: event.kind,
                    at: event.at.into(),
                    submission: Submission(current),
                })
            }
        });
        Ok(stream)
    }
}
