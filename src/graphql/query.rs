//! The query root.
use async_graphql::{Context, ID, Object, Result};

use entity::{agency, task, user};

use super::{
    analysis_types::{AggregateGroup, Counted, Obligation, ProgressRow},
    cost,
    error::IntoGql,
    filters::{
        AgencyFilter, AgencyOrderBy, AggregateDimension, AggregateHaving, IntoFilter,
        ObligationFilter, ObligationOrderBy, PlanFilter, PlanOrderBy, ReportingWindowFilter,
        SubmissionFilter, SubmissionOrderBy, TaskFilter, TaskOrderBy, filter_of, sorting,
    },
    loaders::keep,
    relay::{Conn, connection, items_select, page_request},
    session::{scope_if_signed_in, signed_in},
    state::db,
    tenant_types::{ReportingWindow, Submission, User, Viewer},
    types::{Agency, AgencyGroup, Node, Period, Plan, Task, node, required, task_connection},
};
use crate::service::{
    aggregate::{self, Grouping},
    catalog,
    domain::PeriodKind,
    obligations,
    progress::{self, ProgressGroup},
    submissions::{self, PageRelations},
    windows,
};

pub struct Query;

/// Reads: the plans (tasks, agencies, periods) that every signed-in user sees, and the
/// reports and their analysis as far as the caller's role reaches. Without a token only
/// introspection answers.
#[Object]
impl Query {
    /// Plans, filtered, ordered (default: oldest first) and paged.
    #[graphql(complexity = "cost::filtered_page(first, cost::terms(&filter), child_complexity)")]
    async fn plans(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the plans must meet; all plans where left out.")]
        filter: Option<PlanFilter>,
        #[graphql(desc = "Sort keys, first key first (at most 4).")] order_by: Option<
            Vec<PlanOrderBy>,
        >,
        #[graphql(desc = "Page size: default 20, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> Result<Conn<Plan>> {
        let page = page_request(ctx, first, after).gql()?;
        let scope = scope_if_signed_in(ctx);
        let filter = filter_of(filter).gql()?;
        let order = sorting(order_by, Into::into);
        Ok(connection(
            catalog::list_plans(db(ctx), scope, &filter, &order, &page)
                .await
                .gql()?,
            Plan::from,
        ))
    }

    /// A plan by its code, e.g. "768/QĐ-UBND".
    async fn plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plan's code, e.g. \"768/QĐ-UBND\".")] code: String,
    ) -> Result<Option<Plan>> {
        Ok(catalog::plan_by_code(db(ctx), &code)
            .await
            .gql()?
            .map(Plan::from))
    }

    /// Any object by its global id; null where there is none.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The object's global `id`.")] id: ID,
    ) -> Result<Option<Node>> {
        node(ctx, &id).await
    }

    /// Tasks across plans, filtered, ordered (default: the plan's order) and paged.
    #[graphql(complexity = "cost::filtered_page(first, cost::terms(&filter), child_complexity)")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the tasks must meet; all tasks where left out.")]
        filter: Option<TaskFilter>,
        #[graphql(desc = "Sort keys, first key first (at most 4).")] order_by: Option<
            Vec<TaskOrderBy>,
        >,
        #[graphql(desc = "Page size: default 20, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> Result<Conn<Task>> {
        let filter = filter_of(filter).gql()?;
        task_connection(ctx, filter, order_by, first, after).await
    }

    /// Agencies, filtered, ordered (default: by code) and paged.
    #[graphql(complexity = "cost::filtered_page(first, cost::terms(&filter), child_complexity)")]
    async fn agencies(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the agencies must meet; all agencies where left out.")]
        filter: Option<AgencyFilter>,
        #[graphql(desc = "Sort keys, first key first (at most 4).")] order_by: Option<
            Vec<AgencyOrderBy>,
        >,
        #[graphql(desc = "Page size: default 20, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> Result<Conn<Agency>> {
        let page = page_request(ctx, first, after).gql()?;
        let scope = scope_if_signed_in(ctx);
        let filter = filter_of(filter).gql()?;
        let order = sorting(order_by, Into::into);
        let agencies = catalog::list_agencies(db(ctx), scope, &filter, &order, &page)
            .await
            .gql()?;
        Ok(connection(agencies, Agency::from))
    }

    /// An agency by its code, e.g. "ubnd-tay-son", or "binh-dinh/ubnd-tay-son" where the
    /// code is used in several jurisdictions (a bare code is then BAD_USER_INPUT naming
    /// the ways to write it).
    async fn agency(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The agency's code, e.g. \"ubnd-tay-son\", or \"jurisdiction/code\" (\"binh-dinh/so-tai-chinh\")."
        )]
        code: String,
    ) -> Result<Option<Agency>> {
        Ok(catalog::agency_by_code(db(ctx), &code)
            .await
            .gql()?
            .map(Agency::from))
    }

    /// All agency groups with their members.
    #[graphql(complexity = "cost::list(cost::bound::CATALOG_LIST, child_complexity)")]
    async fn agency_groups(&self, ctx: &Context<'_>) -> Result<Vec<AgencyGroup>> {
        Ok(catalog::agency_groups(db(ctx))
            .await
            .gql()?
            .into_iter()
            .map(AgencyGroup::from)
            .collect())
    }

    /// Who is signed in.
    async fn me(&self, ctx: &Context<'_>) -> Result<Viewer> {
        let (principal, _) = signed_in(ctx).gql()?;
        let user = required::<user::Entity>(ctx, principal.user_id).await?;
        let agency = required::<agency::Entity>(ctx, principal.agency_id).await?;
        Ok(Viewer {
            user: User(user),
            agency: Agency(agency),
            role: principal.role,
        })
    }

    /// Reports the caller may see: their own agency's, and for coordinators, analysts and
    /// admins the submitted ones in their reach. Drafts never leave their agency.
    #[graphql(complexity = "cost::filtered_page(first, cost::terms(&filter), child_complexity)")]
    async fn submissions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Conditions the reports must meet; all that the caller may see where left out."
        )]
        filter: Option<SubmissionFilter>,
        #[graphql(desc = "Sort keys, first key first (at most 4); default newest first.")]
        order_by: Option<Vec<SubmissionOrderBy>>,
        #[graphql(desc = "Page size: default 20, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> Result<Conn<Submission>> {
        let (_, scope) = signed_in(ctx).gql()?;
        let page = page_request(ctx, first, after).gql()?;
        let filter = filter_of(filter).gql()?;
        let order = sorting(order_by, Into::into);
        let relations = PageRelations {
            tasks: items_select(ctx, "task"),
            agencies: items_select(ctx, "agency"),
        };
        let page = submissions::list(db(ctx), scope, &filter, &order, &page, relations)
            .await
            .gql()?;
        keep::<task::Entity>(ctx, page.tasks).await;
        keep::<agency::Entity>(ctx, page.agencies).await;
        Ok(connection(page.reports, Submission::from))
    }

    /// Groups of the reports the caller may see (drafts of other agencies never count),
    /// narrowed by `filter`, with counts, distinct counts, first and last times and the
    /// timeliness ratio of each group. At most 1,000 groups, ordered by their keys.
    #[graphql(
        complexity = "cost::aggregate(group_by.len(), cost::terms(&filter), child_complexity)"
    )]
    async fn submissions_aggregate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the reports must meet before they are grouped.")]
        filter: Option<SubmissionFilter>,
        #[graphql(
            desc = "Dimensions to group by; none: one group of everything.",
            default
        )]
        group_by: Vec<AggregateDimension>,
        #[graphql(desc = "Conditions the groups must meet.")] having: Option<AggregateHaving>,
    ) -> Result<Vec<AggregateGroup>> {
        let (_, scope) = signed_in(ctx).gql()?;
        let filter = filter_of(filter).gql()?;
        let grouping = grouping(group_by, having).gql()?;
        let groups = aggregate::submissions(db(ctx), scope, &filter, &grouping)
            .await
            .gql()?;
        Ok(AggregateGroup::all(groups, Counted::Submissions))
    }

    /// Reporting obligations: which tasks each agency must report on for each period
    /// with a reporting window, and where each report stands. Tenants see their own;
    /// coordinators (of the plan), analysts and admins see every agency's.
    #[graphql(complexity = "cost::filtered_page(first, cost::terms(&filter), child_complexity)")]
    async fn obligations(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Conditions the obligations must meet; all that the caller may survey where left out."
        )]
        filter: Option<ObligationFilter>,
        #[graphql(
            desc = "Sort keys, first key first (at most 4); default period, the plan's order, agency code."
        )]
        order_by: Option<Vec<ObligationOrderBy>>,
        #[graphql(desc = "Page size: default 20, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> Result<Conn<Obligation>> {
        let (_, scope) = signed_in(ctx).gql()?;
        let page = page_request(ctx, first, after).gql()?;
        let filter = filter_of(filter).gql()?;
        let order = sorting(order_by, Into::into);
        let rows = obligations::list(db(ctx), scope, &filter, &order, &page)
            .await
            .gql()?;
        Ok(connection(rows, Obligation))
    }

    /// Groups of the obligations the caller may survey, narrowed by `filter`: reports
    /// expected (`count`), what came in, completeness and timeliness of each group. At
    /// most 1,000 groups, ordered by their keys.
    #[graphql(
        complexity = "cost::aggregate(group_by.len(), cost::terms(&filter), child_complexity)"
    )]
    async fn obligations_aggregate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the obligations must meet before they are grouped.")]
        filter: Option<ObligationFilter>,
        #[graphql(
            desc = "Dimensions to group by; none: one group of everything.",
            default
        )]
        group_by: Vec<AggregateDimension>,
        #[graphql(desc = "Conditions the groups must meet.")] having: Option<AggregateHaving>,
    ) -> Result<Vec<AggregateGroup>> {
        let (_, scope) = signed_in(ctx).gql()?;
        let filter = filter_of(filter).gql()?;
        let grouping = grouping(group_by, having).gql()?;
        let groups = aggregate::obligations(db(ctx), scope, &filter, &grouping)
            .await
            .gql()?;
        Ok(AggregateGroup::all(groups, Counted::Obligations))
    }

    /// Progress of a plan by agency, section, task or period: expected reports, what came
    /// in, completeness and timeliness. Without `periodCode`, over every period with a
    /// reporting window. Counts cover only what the caller may see.
    #[graphql(complexity = "cost::analysis(child_complexity)")]
    async fn progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plan's code, e.g. \"768/QĐ-UBND\".")] plan_code: String,
        #[graphql(
            desc = "One reporting period (a year or a half-year), e.g. \"2024\" or \"2024S1\"; every period with a reporting window where left out."
        )]
        period_code: Option<String>,
        #[graphql(desc = "What each row is about: one row per agency, section, task or period.")]
        group_by: ProgressGroup,
    ) -> Result<Vec<ProgressRow>> {
        let (_, scope) = signed_in(ctx).gql()?;
        let rows =
            progress::aggregate(db(ctx), scope, &plan_code, period_code.as_deref(), group_by)
                .await
                .gql()?;
        Ok(rows
            .into_iter()
            .map(|counts| ProgressRow {
                group: group_by,
                counts,
            })
            .collect())
    }

    /// Reporting windows, earliest first (at most 100), narrowed by `filter`.
    #[graphql(
        complexity = "cost::list(cost::bound::CATALOG_LIST, child_complexity).saturating_add(cost::terms(&filter) * cost::FILTER_TERM)"
    )]
    async fn reporting_windows(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the windows must meet; all windows where left out.")]
        filter: Option<ReportingWindowFilter>,
    ) -> Result<Vec<ReportingWindow>> {
        let filter = filter_of(filter).gql()?;
        let scope = scope_if_signed_in(ctx);
        Ok(windows::list(db(ctx), scope, &filter)
            .await
            .gql()?
            .into_iter()
            .map(ReportingWindow::from)
            .collect())
    }

    /// Periods, optionally of one kind, in calendar order.
    #[graphql(complexity = "cost::list(cost::bound::CATALOG_LIST, child_complexity)")]
    async fn periods(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only periods of this kind; periods of every kind where left out.")]
        kind: Option<PeriodKind>,
    ) -> Result<Vec<Period>> {
        Ok(catalog::periods(db(ctx), kind)
            .await
            .gql()?
            .into_iter()
            .map(Period::from)
            .collect())
    }
}

/// The domain grouping of `groupBy` and `having`.
fn grouping(
    group_by: Vec<AggregateDimension>,
    having: Option<AggregateHaving>,
) -> crate::service::ServiceResult<Grouping> {
    Ok(Grouping {
        by: group_by.into_iter().map(Into::into).collect(),
        having: having.map_or_else(|| Ok(Default::default()), IntoFilter::into_filter)?,
    })
}
