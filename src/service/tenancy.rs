//! The tenancy rule, in one place: which submissions a principal may see.
//!
//! A `SubmissionScope` is made only from a signed-in principal, and the only way to the
//! tenant tables is a `ScopedTxn` that only a scope can open: its queries come filtered
//! by the rule, and on PostgreSQL it runs as the application role with the rule's inputs
//! in transaction settings, so that the row-level security policies enforce it again
//! (the second wall, in the migrations). The server connects as a role that owns no
//! table, so a query outside a scoped transaction sees no tenant rows at all.
use std::ops::Deref;

use entity::{audit_log, plan, submission};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, QueryFilter, Select, SqliteTransactionMode, Statement, TransactionOptions,
    sea_query::{Expr, ExprTrait, Query, SelectStatement},
};

use super::{
    ServiceResult,
    auth::Principal,
    domain::{Role, SubmissionStatus},
};

/// The role the service acts as inside tenant transactions on PostgreSQL. It owns no
/// table, so the row-level security policies apply to it.
pub const APP_ROLE: &str = "plantrack_app";

/// What a principal may see of the submissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmissionScope {
    agency_id: i64,
    role: Role,
    /// Plans whose coordinating agency is the principal's (for coordinators).
    coordinated_plans: Vec<i64>,
}

impl SubmissionScope {
    /// Builds the scope of a principal. Scope rules are per plan (its coordinator), never
    /// "all plans".
    pub async fn of<C: ConnectionTrait>(db: &C, principal: &Principal) -> ServiceResult<Self> {
        let coordinated_plans = if principal.role == Role::Coordinator {
            plan::Entity::find()
                .filter(plan::Column::CoordinatorId.eq(principal.agency_id))
                .all(db)
                .await?
                .into_iter()
                .map(|p| p.id)
                .collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            agency_id: principal.agency_id,
            role: principal.role,
            coordinated_plans,
        })
    }

    /// The principal's own agency.
    pub fn agency_id(&self) -> i64 {
        self.agency_id
    }

    /// THE rule: what reaches this principal.
    /// - everyone sees their own agency's submissions, drafts included;
    /// - a coordinator also sees the non-draft submissions of the plans their agency
    ///   coordinates;
    /// - analysts and admins also see every non-draft submission;
    /// - drafts never leave their agency.
    fn reach(&self) -> Vec<Reach<'_>> {
        let mut reach = vec![Reach::OwnAgency];
        match self.role {
            Role::Viewer | Role::Editor => {}
            Role::Coordinator => reach.push(Reach::NonDraftOfPlans(&self.coordinated_plans)),
            Role::Analyst | Role::Admin => reach.push(Reach::NonDraft),
        }
        reach
    }

    /// The rule as a filter on `submission`.
    fn condition(&self) -> Condition {
        self.reach()
            .into_iter()
            .fold(Condition::any(), |any, reach| {
                let not_draft = submission::Column::Status.ne(SubmissionStatus::Draft.as_str());
                any.add(match reach {
                    Reach::OwnAgency => {
                        Condition::all().add(submission::Column::AgencyId.eq(self.agency_id))
                    }
                    Reach::NonDraftOfPlans(plans) => Condition::all()
                        .add(not_draft)
                        .add(submission::Column::PlanId.is_in(plans.iter().copied())),
                    Reach::NonDraft => Condition::all().add(not_draft),
                })
            })
    }

    /// The rule applied to one submission as it was at some moment (for live events,
    /// which must not reveal a draft that has since been submitted).
    pub fn permits(&self, agency_id: i64, plan_id: i64, status: SubmissionStatus) -> bool {
        self.reach().into_iter().any(|reach| match reach {
            Reach::OwnAgency => agency_id == self.agency_id,
            Reach::NonDraftOfPlans(plans) => {
                status != SubmissionStatus::Draft && plans.contains(&plan_id)
            }
            Reach::NonDraft => status != SubmissionStatus::Draft,
        })
    }

    /// Whose reporting obligations this principal may survey, as a condition on an
    /// agency and a plan expression: its own agency's, and every agency's of the plans
    /// whose other reports the rule lets it see.
    fn survey_condition(&self, agency: Expr, plan: Expr) -> Condition {
        self.reach()
            .into_iter()
            .fold(Condition::any(), |any, reach| {
                any.add(match reach {
                    Reach::OwnAgency => agency.clone().eq(self.agency_id),
                    Reach::NonDraftOfPlans(plans) => plan.clone().is_in(plans.iter().copied()),
                    Reach::NonDraft => Expr::val(1).eq(1),
                })
            })
    }

    /// Whether the scope surveys its own agency's obligations only (a tenant's viewers
    /// and editors): they are few, whatever the plan.
    pub fn surveys_own_agency_only(&self) -> bool {
        matches!(self.reach().as_slice(), [Reach::OwnAgency])
    }

    /// Whether the coordinator role of this scope covers a plan.
    pub fn coordinates(&self, plan_id: i64) -> bool {
        self.role == Role::Coordinator && self.coordinated_plans.contains(&plan_id)
    }

    /// Opens the only kind of transaction that reaches tenant tables.
    pub async fn begin(
        &self,
        db: &DatabaseConnection,
        intent: Intent,
    ) -> ServiceResult<ScopedTxn<'_>> {
        Ok(ScopedTxn {
            txn: begin(db, self, intent).await?,
            scope: self,
        })
    }
}

/// A transaction under one principal's scope: the way to tenant rows. Statements on
/// other tables run on it as on any transaction (it derefs to one).
pub struct ScopedTxn<'s> {
    txn: DatabaseTransaction,
    scope: &'s SubmissionScope,
}

impl ScopedTxn<'_> {
    /// The submissions the scope reaches, as a query to narrow further.
    pub fn submissions(&self) -> Select<submission::Entity> {
        submission::Entity::find().filter(self.scope.condition())
    }

    /// Ids of the submissions the scope reaches, as a subquery.
    pub fn submission_ids(&self) -> SelectStatement {
        Query::select()
            .column(submission::Column::Id)
            .from(submission::Entity)
            .cond_where(self.scope.condition())
            .to_owned()
    }

    /// The rule as a condition on `submission`, for aggregates that join it.
    pub fn submission_condition(&self) -> Condition {
        self.scope.condition()
    }

    /// See [`SubmissionScope::surveys_own_agency_only`].
    pub fn surveys_own_agency_only(&self) -> bool {
        self.scope.surveys_own_agency_only()
    }

    /// Whose obligations the scope surveys (its own agency's; every agency's of the plans
    /// whose other reports it sees), as a condition on an agency and a plan expression.
    pub fn survey_condition(&self, agency: Expr, plan: Expr) -> Condition {
        self.scope.survey_condition(agency, plan)
    }

    /// Audit entries of reachable submissions that reach the scope: an entry written
    /// while its submission was a draft is as private as the draft, so it reaches only
    /// the submission's own agency.
    pub fn submission_history(&self) -> Select<audit_log::Entity> {
        audit_log::Entity::find()
            .filter(audit_log::Column::Entity.eq("submission"))
            .filter(audit_log::Column::EntityId.in_subquery(self.submission_ids()))
            .filter(
                Condition::any()
                    .add(audit_log::Column::DuringDraft.eq(false))
                    .add(audit_log::Column::AgencyId.eq(self.scope.agency_id)),
            )
    }

    pub async fn commit(self) -> ServiceResult<()> {
        Ok(self.txn.commit().await?)
    }

    /// The transaction itself, for handing to code that commits it (events).
    pub fn into_inner(self) -> DatabaseTransaction {
        self.txn
    }
}

impl Deref for ScopedTxn<'_> {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

/// One way a submission can reach a principal.
enum Reach<'a> {
    OwnAgency,
    NonDraftOfPlans(&'a [i64]),
    NonDraft,
}

/// Whether a tenant transaction will write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    Read,
    Write,
}

/// A transaction for reading or writing tenant tables under `scope`. On PostgreSQL it
/// acts as the non-owner application role with the scope in per-transaction settings,
/// so that the database enforces the rule again.
async fn begin(
    db: &DatabaseConnection,
    scope: &SubmissionScope,
    intent: Intent,
) -> ServiceResult<DatabaseTransaction> {
    // On SQLite a writer takes the write lock up front: a read-then-write transaction
    // could otherwise fail to upgrade when another writer committed in between.
    let sqlite_transaction_mode = match intent {
        Intent::Write => Some(SqliteTransactionMode::Immediate),
        Intent::Read => None,
    };
    let txn = crate::db::begin(
        db,
        TransactionOptions {
            sqlite_transaction_mode,
            ..Default::default()
        },
    )
    .await?;
    if db.get_database_backend() == DbBackend::Postgres {
        let plans = scope
            .coordinated_plans
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        // One round trip: the rule's inputs, then the role (as `SET LOCAL ROLE` does).
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('app.agency_id', $1, true), set_config('app.role', $2, true), \
             set_config('app.plan_ids', $3, true), set_config('role', $4, true)",
            [
                sea_orm::Value::from(scope.agency_id.to_string()),
                sea_orm::Value::from(scope.role.as_str()),
                sea_orm::Value::from(plans),
                sea_orm::Value::from(APP_ROLE),
            ],
        ))
        .await?;
    }
    Ok(txn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(role: Role) -> SubmissionScope {
        SubmissionScope {
            agency_id: 1,
            role,
            coordinated_plans: vec![10],
        }
    }

    #[test]
    fn drafts_reach_only_their_agency() {
        use SubmissionStatus::*;
        for role in Role::ALL {
            let s = scope(*role);
            assert!(s.permits(1, 10, Draft), "{role:?} sees its own draft");
            assert!(
                !s.permits(2, 10, Draft),
                "{role:?} never sees another agency's draft"
            );
        }
        assert!(!scope(Role::Editor).permits(2, 10, Submitted));
        assert!(!scope(Role::Viewer).permits(2, 10, Accepted));
        assert!(scope(Role::Coordinator).permits(2, 10, Submitted));
        assert!(
            !scope(Role::Coordinator).permits(2, 11, Submitted),
            "only plans it coordinates"
        );
        assert!(scope(Role::Analyst).permits(2, 11, Returned));
        assert!(scope(Role::Admin).permits(2, 11, Accepted));
    }

    #[test]
    fn surveys_follow_the_rule() {
        use sea_orm::sea_query::{Alias, SqliteQueryBuilder};
        let surveyed = |role| {
            let condition = scope(role).survey_condition(
                Expr::col(Alias::new("agency_id")),
                Expr::col(Alias::new("plan_id")),
            );
            Query::select()
                .expr(Expr::val(1))
                .cond_where(condition)
                .to_owned()
                .to_string(SqliteQueryBuilder)
        };
        let editor = surveyed(Role::Editor);
        assert!(
            editor.contains("\"agency_id\" = 1") && !editor.contains("plan_id"),
            "{editor}"
        );
        let coordinator = surveyed(Role::Coordinator);
        assert!(coordinator.contains("\"plan_id\" IN (10)"), "{coordinator}");
        let analyst = surveyed(Role::Analyst);
        assert!(analyst.contains("1 = 1"), "{analyst}");
    }
}
