//! The query root.
use async_graphql::{Context, ID, Object, Result};

use entity::{agency, user};

use super::{
    analysis_types::{Obligation, ProgressRow},
    cost,
    error::IntoGql,
    inputs::{AgencyFilterInput, SubmissionFilterInput, TaskFilterInput},
    relay::{Conn, connection, page_request},
    session::signed_in,
    state::db,
    tenant_types::{ReportingWindow, Submission, User, Viewer},
    types::{Agency, AgencyGroup, Node, Period, Plan, Task, node, required, task_connection},
};
use crate::service::{
    catalog::{self, AgencyOrder, TaskOrder},
    domain::PeriodKind,
    obligations,
    progress::{self, ProgressGroup},
    submissions::{self, SubmissionOrder},
    windows,
};

pub struct Query;

#[Object]
impl Query {
    /// All plans, oldest first.
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn plans(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Plan>> {
        let page = page_request(ctx, first, after).gql()?;
        Ok(connection(
            catalog::list_plans(db(ctx), &page).await.gql()?,
            Plan,
        ))
    }

    /// A plan by its code, e.g. "768/QĐ-UBND".
    async fn plan(&self, ctx: &Context<'_>, code: String) -> Result<Option<Plan>> {
        Ok(catalog::plan_by_code(db(ctx), &code).await.gql()?.map(Plan))
    }

    /// Any object by its global id; null where there is none.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        node(ctx, &id).await
    }

    /// Tasks across plans, filtered, ordered (default: the plan's order) and paged.
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        filter: Option<TaskFilterInput>,
        order_by: Option<Vec<TaskOrder>>,
        #[graphql(desc = "Page size: default 20, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> Result<Conn<Task>> {
        task_connection(
            ctx,
            filter.map(Into::into).unwrap_or_default(),
            order_by,
            first,
            after,
        )
        .await
    }

    /// Agencies, filtered and paged.
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn agencies(
        &self,
        ctx: &Context<'_>,
        filter: Option<AgencyFilterInput>,
        order_by: Option<AgencyOrder>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Agency>> {
        let page = page_request(ctx, first, after).gql()?;
        let filter = filter.map(Into::into).unwrap_or_default();
        let agencies =
            catalog::list_agencies(db(ctx), &filter, order_by.unwrap_or_default(), &page)
                .await
                .gql()?;
        Ok(connection(agencies, Agency))
    }

    /// An agency by its code, e.g. "ubnd-tay-son".
    async fn agency(&self, ctx: &Context<'_>, code: String) -> Result<Option<Agency>> {
        Ok(catalog::agency_by_code(db(ctx), &code)
            .await
            .gql()?
            .map(Agency))
    }

    /// All agency groups with their members.
    #[graphql(complexity = "cost::list(cost::bound::CATALOG_LIST, child_complexity)")]
    async fn agency_groups(&self, ctx: &Context<'_>) -> Result<Vec<AgencyGroup>> {
        Ok(catalog::agency_groups(db(ctx))
            .await
            .gql()?
            .into_iter()
            .map(AgencyGroup)
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
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn submissions(
        &self,
        ctx: &Context<'_>,
        filter: Option<SubmissionFilterInput>,
        order_by: Option<SubmissionOrder>,
        #[graphql(desc = "Page size: default 20, at most 100.")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Submission>> {
        let (_, scope) = signed_in(ctx).gql()?;
        let page = page_request(ctx, first, after).gql()?;
        let filter = filter
            .map(SubmissionFilterInput::into_filter)
            .transpose()
            .gql()?
            .unwrap_or_default();
        let rows = submissions::list(db(ctx), scope, &filter, order_by.unwrap_or_default(), &page)
            .await
            .gql()?;
        Ok(connection(rows, Submission))
    }

    /// A reporting period's obligations: which tasks each agency must report on and where
    /// each report stands. Tenants see their own; coordinators (of the plan), analysts
    /// and admins see every agency's.
    #[graphql(complexity = "cost::analysis(child_complexity)")]
    async fn obligations(
        &self,
        ctx: &Context<'_>,
        period_code: String,
        #[graphql(desc = "Only this agency's (code).")] agency: Option<String>,
        #[graphql(desc = "Only this plan's.")] plan_code: Option<String>,
    ) -> Result<Vec<Obligation>> {
        let (_, scope) = signed_in(ctx).gql()?;
        let rows = obligations::for_period(
            db(ctx),
            scope,
            &period_code,
            agency.as_deref(),
            plan_code.as_deref(),
        )
        .await
        .gql()?;
        Ok(rows.into_iter().map(Obligation).collect())
    }

    /// Progress of a plan by agency, section, task or period: expected reports, what came
    /// in, completeness and timeliness. Without `periodCode`, over every period with a
    /// reporting window. Counts cover only what the caller may see.
    #[graphql(complexity = "cost::analysis(child_complexity)")]
    async fn progress(
        &self,
        ctx: &Context<'_>,
        plan_code: String,
        period_code: Option<String>,
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

    /// Reporting windows of a plan, earliest first.
    #[graphql(complexity = "cost::list(cost::bound::CATALOG_LIST, child_complexity)")]
    async fn reporting_windows(
        &self,
        ctx: &Context<'_>,
        plan_code: String,
    ) -> Result<Vec<ReportingWindow>> {
        Ok(windows::list(db(ctx), &plan_code)
            .await
            .gql()?
            .into_iter()
            .map(ReportingWindow)
            .collect())
    }

    /// Periods, optionally of one kind, in calendar order.
    #[graphql(complexity = "cost::list(cost::bound::CATALOG_LIST, child_complexity)")]
    async fn periods(&self, ctx: &Context<'_>, kind: Option<PeriodKind>) -> Result<Vec<Period>> {
        Ok(catalog::periods(db(ctx), kind)
            .await
            .gql()?
            .into_iter()
            .map(Period)
            .collect())
    }
}
