//! The mutation root.
use async_graphql::{Context, ID, Object, Result};

use super::{
    error::IntoGql,
    inputs::{
        CreateUserInput, OpenReportingWindowInput, RecordSuccessionInput, SaveSubmissionInput,
        row_id,
    },
    scalars::{Date, Timestamp},
    session::{Session, client_address, session, signed_in},
    state::{db, events, login_throttle},
    tenant_types::{AuthPayload, ReportingWindow, Submission, User},
    types::{Agency, AgencyGroup, Task},
};
use crate::service::{
    ServiceError, assignments, auth,
    domain::{AssignmentRole, ReviewDecision},
    groups, submissions, succession, task_edits, windows,
};

pub struct Mutation;

/// Writes: signing in and out, reports and their review, reporting windows, agency
/// groups and users. Without a token only `login` answers.
#[Object]
impl Mutation {
    /// Signs in; the token goes in `Authorization: Bearer <token>` on every later request.
    /// A wrong password, an unknown or a disabled user all answer UNAUTHENTICATED ("wrong
    /// username or password"). Attempts are limited per username and per client address;
    /// past the limit, even the right password answers TOO_MANY_REQUESTS, with
    /// `extensions.retryAfterSeconds`.
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's name, e.g. `tayson`.")] username: String,
        #[graphql(desc = "The user's password (at most 256 characters).")] password: String,
    ) -> Result<AuthPayload> {
        let client = client_address(ctx);
        let sign_in = auth::login(db(ctx), login_throttle(ctx), &username, &password, client)
            .await
            .gql()?;
        Ok(AuthPayload {
            token: sign_in.token,
            expires_at: sign_in.expires_at.into(),
            user: User::from(sign_in.user),
        })
    }

    /// Ends this sign-in: the token stops working.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        match session(ctx) {
            Session::SignedIn { token, .. } => {
                auth::logout(db(ctx), token).await.gql().map(|()| true)
            }
            _ => Err(ServiceError::Unauthenticated).gql(),
        }
    }

    /// Changes the signed-in user's own password. The current password is asked again (a
    /// wrong one answers UNAUTHENTICATED and counts as a sign-in attempt); the new one
    /// has 8 to 256 characters. Every other sign-in of the user ends; this one goes on.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The current password.")] old_password: String,
        #[graphql(desc = "The new password, 8 to 256 characters.")] new_password: String,
    ) -> Result<bool> {
        let Session::SignedIn {
            principal, token, ..
        } = session(ctx)
        else {
            return Err(ServiceError::Unauthenticated).gql();
        };
        let passwords = auth::PasswordChange {
            old: &old_password,
            new: &new_password,
            client: client_address(ctx),
        };
        auth::change_password(db(ctx), login_throttle(ctx), principal, token, passwords)
            .await
            .gql()
            .map(|()| true)
    }

    /// Creates or updates the caller's agency's draft (or returned) report. The agency is
    /// always the caller's own.
    async fn save_submission(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task and period reported on, and what to set.")]
        input: SaveSubmissionInput,
    ) -> Result<Submission> {
        let (principal, scope) = signed_in(ctx).gql()?;
        let command = input.into_command().gql()?;
        submissions::save(db(ctx), events(ctx), principal, scope, command)
            .await
            .gql()
            .map(Submission::from)
    }

    /// Sends the report to the coordinator.
    async fn submit_submission(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The submission's global id.")] id: ID,
        #[graphql(
            desc = "The `version` last read; a stale one answers CONFLICT and changes nothing."
        )]
        expected_version: i32,
    ) -> Result<Submission> {
        let (principal, scope) = signed_in(ctx).gql()?;
        let id = submission_id(&id)?;
        submissions::submit(db(ctx), events(ctx), principal, scope, id, expected_version)
            .await
            .gql()
            .map(Submission::from)
    }

    /// The coordinator accepts a submitted report, or returns it (a comment is required).
    async fn review_submission(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The submission's global id.")] id: ID,
        #[graphql(
            desc = "The `version` last read; a stale one answers CONFLICT and changes nothing."
        )]
        expected_version: i32,
        #[graphql(desc = "Accept the report, or return it for changes.")] decision: ReviewDecision,
        #[graphql(
            desc = "What to change (required to return; optional to accept), shown as `reviewComment`."
        )]
        comment: Option<String>,
    ) -> Result<Submission> {
        let (principal, scope) = signed_in(ctx).gql()?;
        let id = submission_id(&id)?;
        let review = submissions::Review {
            id,
            expected_version,
            decision,
            comment,
        };
        submissions::review(db(ctx), events(ctx), principal, scope, review)
            .await
            .gql()
            .map(Submission::from)
    }

    /// Opens a reporting period of a plan (its coordinator only).
    async fn open_reporting_window(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plan, the period and the window's times.")]
        input: OpenReportingWindowInput,
    ) -> Result<ReportingWindow> {
        let (principal, _) = signed_in(ctx).gql()?;
        windows::open(db(ctx), principal, input.into())
            .await
            .gql()
            .map(ReportingWindow::from)
    }

    /// Closes a reporting window now.
    async fn close_reporting_window(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plan's code, e.g. \"768/QĐ-UBND\".")] plan_code: String,
        #[graphql(desc = "The window's period, e.g. \"2024\" or \"2024S1\".")] period_code: String,
    ) -> Result<ReportingWindow> {
        let (principal, _) = signed_in(ctx).gql()?;
        windows::set_closing(db(ctx), principal, &plan_code, &period_code, None)
            .await
            .gql()
            .map(ReportingWindow::from)
    }

    /// Reopens a reporting window until `closesAt`.
    async fn reopen_reporting_window(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plan's code, e.g. \"768/QĐ-UBND\".")] plan_code: String,
        #[graphql(desc = "The window's period, e.g. \"2024\" or \"2024S1\".")] period_code: String,
        #[graphql(
            desc = "When the window closes again; in the future, and not before the window's due date."
        )]
        closes_at: Timestamp,
    ) -> Result<ReportingWindow> {
        let (principal, _) = signed_in(ctx).gql()?;
        windows::set_closing(
            db(ctx),
            principal,
            &plan_code,
            &period_code,
            Some(closes_at.0),
        )
        .await
        .gql()
        .map(ReportingWindow::from)
    }

    /// Names the members of an agency group the plan leaves open, such as "các sở, ngành
    /// có liên quan" of one task (the coordinator of a plan using the group, or an admin).
    async fn set_agency_group_members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The group's code, e.g. \"lien-quan-iii-2\".")] group: String,
        #[graphql(
            desc = "Codes of the tenant agencies that make up the group from `from` on, replacing its members; an empty list empties it."
        )]
        agencies: Vec<String>,
        #[graphql(
            desc = "The first day of the new membership (default: today). Members left out end the day before; earlier days keep their members. Refused where it would change what was owed for a period whose reporting window has closed."
        )]
        from: Option<Date>,
    ) -> Result<AgencyGroup> {
        let (principal, _) = signed_in(ctx).gql()?;
        groups::set_members(db(ctx), principal, &group, &agencies, from.map(|d| d.0))
            .await
            .gql()
            .map(AgencyGroup::from)
    }

    /// Sets the agencies a task assigns directly in a role from a day (the plan's
    /// coordinator or an admin): agencies left out end the day before, new ones begin on
    /// it, and the days before keep who was assigned; the task's group assignments stay.
    /// Refused with WINDOW_CLOSED where it would change what was owed for a period whose
    /// reporting window has closed. Audited on the task.
    async fn set_task_assignees(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task's global id.")] task_id: ID,
        #[graphql(desc = "LEAD (reports on the task) or PARTNER.")] role: AssignmentRole,
        #[graphql(
            desc = "Codes of the tenant agencies the task assigns directly in this role from `from` on; an empty list ends them all (a task keeps at least one lead)."
        )]
        agencies: Vec<String>,
        #[graphql(desc = "The first day of the new assignments (default: today).")] from: Option<
            Date,
        >,
    ) -> Result<Task> {
        let (principal, _) = signed_in(ctx).gql()?;
        let task_id = row_id(&task_id, "Task").gql()?;
        assignments::set_assignees(
            db(ctx),
            principal,
            task_id,
            role,
            &agencies,
            from.map(|d| d.0),
        )
        .await
        .gql()
        .map(Task::from)
    }

    /// Changes a task's text and deliverables from a day, today at the latest (the
    /// plan's coordinator or an admin); what is not given stays. The text before is kept
    /// for the reports of the periods that fell due before the day; deliverables left out
    /// end the day before, new ones begin on it, and evidence already given keeps its
    /// deliverable. Refused with WINDOW_CLOSED where it would alter a period whose
    /// reporting window has closed, and with BAD_USER_INPUT for a day before the task's
    /// last change. Audited on the task.
    async fn edit_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task's global id.")] task_id: ID,
        #[graphql(desc = "The task's new text (1 to 2,000 characters).")] content: Option<String>,
        #[graphql(
            desc = "The task's deliverables from `from` on (1 to 20, each 1 to 500 characters). One already there (the same words, whatever the case, diacritics or spacing) stays as it is written and where it is; new ones come after, in the order given."
        )]
        deliverables: Option<Vec<String>>,
        #[graphql(desc = "The first day the change holds (default: today); not after today.")]
        from: Option<Date>,
    ) -> Result<Task> {
        let (principal, _) = signed_in(ctx).gql()?;
        let task_id = row_id(&task_id, "Task").gql()?;
        let edit = task_edits::TaskEdit {
            content,
            deliverables,
            from: from.map(|d| d.0),
        };
        task_edits::edit(db(ctx), principal, task_id, edit)
            .await
            .gql()
            .map(Task::from)
    }

    /// Records a reorganization (admins only): the agency ends on `lastDay`, and from
    /// the next day its assignments, group memberships and coordination pass to the
    /// successors, who read its reports (read-only) and owe its open obligations; its
    /// users can no longer write. Nothing before is rewritten. One audited operation;
    /// the same as `plantrack record-succession FILE`. Answers the ended agency.
    async fn record_succession(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The agency that ends, its last day and who takes what.")]
        input: RecordSuccessionInput,
    ) -> Result<Agency> {
        let (principal, _) = signed_in(ctx).gql()?;
        let succession = input.into_succession().gql()?;
        succession::record(db(ctx), Some(principal), &succession)
            .await
            .gql()
            .map(|(agency, _)| Agency::from(agency))
    }

    /// Adds a user (admin only).
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who the user is, their agency, role and first password.")]
        input: CreateUserInput,
    ) -> Result<User> {
        let (principal, _) = signed_in(ctx).gql()?;
        let new = auth::NewUser {
            username: input.username,
            display_name: input.display_name,
            agency_code: input.agency,
            role: input.role,
            password: input.password,
        };
        auth::create_user(db(ctx), Some(principal), new)
            .await
            .gql()
            .map(User::from)
    }

    /// Sets a user's password (admin only); every sign-in of the user ends.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user whose password is set.")] username: String,
        #[graphql(desc = "The new password, 8 to 256 characters.")] password: String,
    ) -> Result<User> {
        let (principal, _) = signed_in(ctx).gql()?;
        auth::reset_password(db(ctx), principal, &username, &password)
            .await
            .gql()
            .map(User::from)
    }

    /// Disables a user: sign-in and all their tokens stop working (admin only).
    async fn disable_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to disable; admins cannot disable themselves.")]
        username: String,
    ) -> Result<User> {
        let (principal, _) = signed_in(ctx).gql()?;
        auth::set_disabled(db(ctx), principal, &username, true)
            .await
            .gql()
            .map(User::from)
    }

    /// Enables a disabled user again (admin only).
    async fn enable_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to enable.")] username: String,
    ) -> Result<User> {
        let (principal, _) = signed_in(ctx).gql()?;
        auth::set_disabled(db(ctx), principal, &username, false)
            .await
            .gql()
            .map(User::from)
    }
}

/// A submission's row id; a malformed id is NOT_FOUND, like any id the caller cannot see.
fn submission_id(id: &ID) -> Result<i64> {
    row_id(id, "Submission")
        .map_err(|_| ServiceError::not_found("submission"))
        .gql()
}
