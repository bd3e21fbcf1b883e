//! The tenancy rule, in one place: which submissions a principal may see.
//!
//! A `SubmissionScope` is made only from a signed-in principal, and the only way to the
//! tenant tables is a `ScopedTxn` that only a scope can open: its queries come filtered
//! by the rule, and on PostgreSQL it runs as the application role with the rule's inputs
//! in transaction settings, so that the row-level security policies enforce it again
//! (the second wall, in the migrations). The server connects as a role that owns no
//! table, so a query outside a scoped transaction sees no tenant rows at all.
use std::ops::Deref;

use entity::{agency_succession, audit_log, plan, plan_recipient, submission};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, QueryFilter, Select, Statement,
    sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, UnionType},
};

use super::{
    ServiceResult,
    auth::Principal,
    domain::{Role, SubmissionStatus},
    timeline,
};

/// The role the service acts as inside tenant transactions on PostgreSQL. It owns no
/// table, so the row-level security policies apply to it.
pub const APP_ROLE: &str = "plantrack_app";

/// What a principal may see of the submissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmissionScope {
    agency_id: i64,
    role: Role,
    /// Plans whose coordinating agency is the principal's today (for coordinators).
    coordinated_plans: Vec<i64>,
    /// Agencies whose work passed to the principal's, directly or down a chain of
    /// successions that have taken effect: their reports reach it, read-only.
    predecessors: Vec<i64>,
    /// Plans whose consolidated reports go to the principal's agency (`plan_recipient`):
    /// their reports reach it, read-only, whatever its role.
    received_plans: Vec<i64>,
}

impl SubmissionScope {
    /// Builds the scope of a principal. Scope rules are per plan (its coordinator), never
    /// "all plans".
    pub async fn of<C: ConnectionTrait>(db: &C, principal: &Principal) -> ServiceResult<Self> {
        // None for most principals; else one statement: the plans coordinated today (for
        // coordinators), then the successions in effect (a small table; the chain is
        // walked here).
        if principal.role != Role::Coordinator
            && !principal.agency_succeeds_another
            && !principal.agency_receives_reports
        {
            return Ok(Self::own_agency(principal));
        }
        let today = timeline::today();
        let mut coordinated = Query::select()
            .expr_as(Expr::val("plan"), Alias::new("kind"))
            .expr_as(Expr::col((plan::Entity, plan::Column::Id)), Alias::new("a"))
            .expr_as(Expr::val(0i64), Alias::new("b"))
            .from(plan::Entity)
            .cond_where(if principal.role == Role::Coordinator {
                timeline::coordinates_today(principal.agency_id)
            } else {
                Condition::all().add(Expr::val(1).eq(0))
            })
            .to_owned();
        let successions = Query::select()
            .expr_as(Expr::val("succession"), Alias::new("kind"))
            .expr_as(
                Expr::col(agency_succession::Column::PredecessorId),
                Alias::new("a"),
            )
            .expr_as(
                Expr::col(agency_succession::Column::SuccessorId),
                Alias::new("b"),
            )
            .from(agency_succession::Entity)
            .and_where(Expr::col(agency_succession::Column::EffectiveOn).lte(today))
            .and_where(Expr::val(principal.agency_succeeds_another).eq(true))
            .to_owned();
        let received = Query::select()
            .expr_as(Expr::val("received"), Alias::new("kind"))
            .expr_as(Expr::col(plan_recipient::Column::PlanId), Alias::new("a"))
            .expr_as(Expr::val(0i64), Alias::new("b"))
            .from(plan_recipient::Entity)
            .and_where(Expr::col(plan_recipient::Column::AgencyId).eq(principal.agency_id))
            .and_where(Expr::val(principal.agency_receives_reports).eq(true))
            .to_owned();
        let query = coordinated
            .union(UnionType::All, successions)
            .union(UnionType::All, received)
            .to_owned();
        let rows = db
            .query_all_raw(db.get_database_backend().build(&query))
            .await?;
        let mut coordinated_plans = Vec::new();
        let mut received_plans = Vec::new();
        let mut links = Vec::new();
        for row in rows {
            let a: i64 = row.try_get("", "a")?;
            match row.try_get::<String>("", "kind")?.as_str() {
                "plan" => coordinated_plans.push(a),
                "received" => received_plans.push(a),
                _ => links.push((a, row.try_get::<i64>("", "b")?)),
            }
        }
        Ok(Self {
            agency_id: principal.agency_id,
            role: principal.role,
            coordinated_plans,
            predecessors: predecessors_of(principal.agency_id, &links),
            received_plans,
        })
    }

    /// The scope of a principal whose reach needs nothing looked up: its own agency's
    /// reports, and every non-draft one for analysts and admins.
    pub(crate) fn own_agency(principal: &Principal) -> Self {
        Self {
            agency_id: principal.agency_id,
            role: principal.role,
            coordinated_plans: Vec::new(),
            predecessors: Vec::new(),
            received_plans: Vec::new(),
        }
    }

    /// The principal's own agency.
    pub fn agency_id(&self) -> i64 {
        self.agency_id
    }

    /// `agency` is the principal's own or one whose work passed to it: its reports are the
    /// principal's agency's line of work.
    pub fn own_line(&self, agency: i64) -> bool {
        agency == self.agency_id || self.predecessors.contains(&agency)
    }

    /// THE rule: what reaches this principal.
    /// - everyone sees their own agency's submissions, drafts included;
    /// - and the non-draft submissions of the agencies their agency succeeded;
    /// - a coordinator also sees the non-draft submissions of the plans their agency
    ///   coordinates, and anyone those of the plans whose reports go to their agency;
    /// - analysts and admins also see every non-draft submission;
    /// - drafts never leave their agency.
    fn reach(&self) -> Vec<Reach<'_>> {
        let mut reach = vec![Reach::OwnAgency];
        if !self.predecessors.is_empty() {
            reach.push(Reach::NonDraftOfAgencies(&self.predecessors));
        }
        if !self.received_plans.is_empty() {
            reach.push(Reach::NonDraftOfPlans(&self.received_plans));
        }
        match self.role {
            Role::Viewer | Role::Editor => {}
            Role::Coordinator => reach.push(Reach::NonDraftOfPlans(&self.coordinated_plans)),
            Role::Analyst | Role::Admin => reach.push(Reach::NonDraft),
        }
        reach
    }

    /// The rule as a condition on `submission`. Only a scoped transaction lets its rows
    /// through on PostgreSQL; elsewhere the condition is what keeps them in scope.
    pub(crate) fn submission_condition(&self) -> Condition {
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
                    Reach::NonDraftOfAgencies(agencies) => Condition::all()
                        .add(not_draft)
                        .add(submission::Column::AgencyId.is_in(agencies.iter().copied())),
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
            Reach::NonDraftOfAgencies(agencies) => {
                status != SubmissionStatus::Draft && agencies.contains(&agency_id)
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
                    Reach::NonDraftOfAgencies(agencies) => {
                        agency.clone().is_in(agencies.iter().copied())
                    }
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
        submission::Entity::find().filter(self.scope.submission_condition())
    }

    /// Ids of the submissions the scope reaches, as a subquery.
    pub fn submission_ids(&self) -> SelectStatement {
        Query::select()
            .column(submission::Column::Id)
            .from(submission::Entity)
            .cond_where(self.scope.submission_condition())
            .to_owned()
    }

    /// The rule as a condition on `submission`, for aggregates that join it.
    pub fn submission_condition(&self) -> Condition {
        self.scope.submission_condition()
    }

    /// The scope the transaction is under.
    pub fn scope(&self) -> &SubmissionScope {
        self.scope
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
    NonDraftOfAgencies(&'a [i64]),
    NonDraft,
}

/// Every agency whose work reached `agency` down the (predecessor, successor) `links`.
fn predecessors_of(agency: i64, links: &[(i64, i64)]) -> Vec<i64> {
    let mut found: Vec<i64> = Vec::new();
    let mut frontier = vec![agency];
    while let Some(next) = frontier.pop() {
        for &(predecessor, successor) in links {
            if successor == next && predecessor != agency && !found.contains(&predecessor) {
                found.push(predecessor);
                frontier.push(predecessor);
            }
        }
    }
    found.sort_unstable();
    found
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
    let txn = match intent {
        Intent::Write => crate::db::begin_write(db).await?,
        Intent::Read => crate::db::begin_read(db).await?,
    };
    if db.get_database_backend() == DbBackend::Postgres {
        let ids = |ids: &[i64]| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let plans = ids(&scope.coordinated_plans);
        // One round trip: the rule's inputs, then the role (as `SET LOCAL ROLE` does).
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('app.agency_id', $1, true), set_config('app.role', $2, true), \
             set_config('app.plan_ids', $3, true), set_config('app.predecessor_ids', $4, true), \
             set_config('app.received_plan_ids', $5, true), set_config('role', $6, true)",
            [
                sea_orm::Value::from(scope.agency_id.to_string()),
                sea_orm::Value::from(scope.role.as_str()),
                sea_orm::Value::from(plans),
                sea_orm::Value::from(ids(&scope.predecessors)),
                sea_orm::Value::from(ids(&scope.received_plans)),
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
            predecessors: vec![],
            received_plans: vec![],
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
    fn successors_read_their_predecessors_reports_but_not_their_drafts() {
        use SubmissionStatus::*;
        // 3 succeeded 2, which succeeded 1; 4 is unrelated.
        let links = [(1, 2), (2, 3), (4, 5)];
        assert_eq!(predecessors_of(3, &links), vec![1, 2]);
        assert_eq!(predecessors_of(1, &links), Vec::<i64>::new());
        let successor = SubmissionScope {
            agency_id: 3,
            role: Role::Editor,
            coordinated_plans: vec![],
            predecessors: predecessors_of(3, &links),
            received_plans: vec![],
        };
        assert!(successor.permits(1, 10, Accepted));
        assert!(successor.permits(2, 10, Submitted));
        assert!(
            !successor.permits(2, 10, Draft),
            "drafts never leave their agency"
        );
        assert!(!successor.permits(4, 10, Accepted));
        assert!(!successor.surveys_own_agency_only());
        // A cycle in bad data does not loop.
        assert_eq!(predecessors_of(1, &[(1, 2), (2, 1)]), vec![2]);
    }

    #[test]
    fn recipients_read_their_plans_reports_but_not_drafts() {
        use SubmissionStatus::*;
        let recipient = SubmissionScope {
            agency_id: 7,
            role: Role::Viewer,
            coordinated_plans: vec![],
            predecessors: vec![],
            received_plans: vec![10],
        };
        assert!(recipient.permits(2, 10, Submitted));
        assert!(!recipient.permits(2, 10, Draft));
        assert!(
            !recipient.permits(2, 11, Accepted),
            "only plans it receives"
        );
        assert!(!recipient.coordinates(10), "reading is all it does");
        assert!(!recipient.surveys_own_agency_only());
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
