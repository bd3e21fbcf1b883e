//! The models read most (a page of reports, and the plan's rows its loaders read by id
//! or by parent), read by position.
//!
//! SeaORM's derived `FromQueryResult` finds each cell by its column's name (a hash look-up
//! per cell) and, for every NULL cell, formats an error message that it then throws away:
//! on a page of 100 reports that was about a tenth of the server's instructions
//! (bench/BENCHMARKS.md, run 10). These read each column at its place in the entity's
//! column list — where `Entity::find()` selects it — straight from sqlx, with the same
//! decoding. Debug builds (the tests) check every cell's column name.
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryResult,
    sea_query::{Alias, Expr, IntoIden, SelectStatement},
    sqlx::{self, Column as _, Postgres, Row as _, Sqlite},
};

use crate::{
    agency, agency_group, assignment, deliverable, period, plan, reporting_window, section,
    submission, task, user,
};

/// Selects every column of `E` in its order, but `search_text` (of reports, tasks and
/// agencies) as `''`: the folded copy of a row's texts is for filtering and ordering in
/// SQL, and no model read back uses it, while reading it would double the text a page of
/// reports or a plan's tasks carries. A model read through this select has an empty
/// `search_text`.
pub fn select_without_search_text<E: EntityTrait>(select: &mut SelectStatement) {
    select.clear_selects();
    for (value, name) in columns_without_search_text::<E>(E::default()) {
        select.expr_as(value, name);
    }
}

/// The columns of `E` in their order, of the table named (or aliased) `table`, with
/// `search_text` as `''` (see [`select_without_search_text`]), each under its own name.
pub fn columns_without_search_text<E: EntityTrait>(
    table: impl IntoIden,
) -> impl Iterator<Item = (Expr, Alias)> {
    let table = table.into_iden();
    E::Column::iter().map(move |column| {
        let name = column.as_str();
        let value = if name == "search_text" {
            Expr::val("")
        } else {
            Expr::col((table.clone(), Alias::new(name)))
        };
        (value, Alias::new(name))
    })
}

/// A model whose columns a row holds in their order from some place on: at the start for
/// its own table's rows, further on for a table joined to another's (a report's task).
pub trait ReadAt: Sized {
    /// How many columns the model has.
    const WIDTH: usize;

    /// The model whose first column is the `offset`-th of `row`.
    fn read_at(row: &QueryResult, offset: usize) -> Result<Self, DbErr>;

    /// The id of the model whose first column is the `offset`-th of `row`, or `None`
    /// where a left join found no row.
    fn id_at(row: &QueryResult, offset: usize) -> Result<Option<i64>, DbErr>;
}

/// A model read by position (`ByPosition::<Model>::find_by_statement`, or
/// `select.into_model::<ByPosition<Model>>()`), for a select of the entity's columns in
/// their order (others may follow), such as `select_without_search_text` makes.
pub struct ByPosition<M>(pub M);

/// A value both databases decode.
trait Cell:
    for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
    + for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
{
}

impl<T> Cell for T where
    T: for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
        + for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
{
}

/// The cell of `column` (the `index`-th of its entity's columns); NULL is `None` for an
/// `Option`, without an error made and discarded.
fn cell<T: Cell>(row: &QueryResult, index: usize, column: impl ColumnTrait) -> Result<T, DbErr> {
    let decoded = if let Some(row) = row.try_as_pg_row() {
        debug_assert_eq!(row.columns()[index].name(), column.as_str());
        decode(row, index)
    } else if let Some(row) = row.try_as_sqlite_row() {
        debug_assert_eq!(row.columns()[index].name(), column.as_str());
        decode(row, index)
    } else {
        return Err(DbErr::Type(
            "rows are read by position from sqlx only".into(),
        ));
    };
    decoded.map_err(|error| DbErr::Type(format!("{}: {error}", column.as_str())))
}

/// Decodes the `index`-th cell. Debug builds (the tests, on both databases) check the
/// cell's database type against `T`, as they check its name; release builds skip sqlx's
/// type check, whose look-ups and comparisons cost about a third of a page's decoding
/// (bench/BENCHMARKS.md, run 11). The columns and models are fixed at compile time, so
/// what the tests check holds in release.
fn decode<'r, R, T>(row: &'r R, index: usize) -> Result<T, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    if cfg!(debug_assertions) {
        row.try_get(index)
    } else {
        row.try_get_unchecked(index)
    }
}

/// `ReadAt`, and `FromQueryResult` by position, for a model, from its fields and their
/// columns.
macro_rules! by_position {
    ($($module:ident { $($field:ident: $column:ident),+ $(,)? })+) => {$(
        impl ReadAt for $module::Model {
            const WIDTH: usize = [$(stringify!($field)),+].len();

            fn read_at(row: &QueryResult, offset: usize) -> Result<Self, DbErr> {
                use $module::Column;
                Ok($module::Model {
                    $($field: cell(row, offset + Column::$column as usize, Column::$column)?,)+
                })
            }

            fn id_at(row: &QueryResult, offset: usize) -> Result<Option<i64>, DbErr> {
                use $module::Column;
                cell(row, offset + Column::Id as usize, Column::Id)
            }
        }

        impl FromQueryResult for ByPosition<$module::Model> {
            fn from_query_result(row: &QueryResult, pre: &str) -> Result<Self, DbErr> {
                if !pre.is_empty() {
                    return Err(DbErr::Type(concat!(
                        stringify!($module),
                        " rows are read by position, not under a prefix"
                    ).into()));
                }
                <$module::Model as ReadAt>::read_at(row, 0).map(Self)
            }
        }
    )+};
}

by_position! {
    submission {
        id: Id,
        agency_id: AgencyId,
        plan_id: PlanId,
        task_id: TaskId,
        period_id: PeriodId,
        status: Status,
        progress: Progress,
        summary: Summary,
        results: Results,
        difficulties: Difficulties,
        proposals: Proposals,
        search_text: SearchText,
        version: Version,
        on_time: OnTime,
        review_comment: ReviewComment,
        created_at: CreatedAt,
        created_by: CreatedBy,
        updated_at: UpdatedAt,
        updated_by: UpdatedBy,
        submitted_at: SubmittedAt,
        submitted_by: SubmittedBy,
        reviewed_at: ReviewedAt,
        reviewed_by: ReviewedBy,
    }
    task {
        id: Id,
        plan_id: PlanId,
        section_id: SectionId,
        number: Number,
        content: Content,
        search_text: SearchText,
        schedule: Schedule,
        timeframe_wording: TimeframeWording,
        inferred_note: InferredNote,
        position: Position,
    }
    agency {
        id: Id,
        jurisdiction: Jurisdiction,
        code: Code,
        name: Name,
        short_name: ShortName,
        search_text: SearchText,
        kind: Kind,
        is_tenant: IsTenant,
        valid_from: ValidFrom,
        valid_to: ValidTo,
    }
    assignment {
        id: Id,
        task_id: TaskId,
        role: Role,
        agency_id: AgencyId,
        group_id: GroupId,
        wording: Wording,
        position: Position,
        valid_from: ValidFrom,
        valid_to: ValidTo,
    }
    plan {
        id: Id,
        code: Code,
        jurisdiction: Jurisdiction,
        title: Title,
        issuer_id: IssuerId,
        coordinator_id: CoordinatorId,
        issued_on: IssuedOn,
        start_year: StartYear,
        end_year: EndYear,
        effective_on: EffectiveOn,
    }
    section {
        id: Id,
        plan_id: PlanId,
        numeral: Numeral,
        title: Title,
        position: Position,
        part: Part,
    }
    period {
        id: Id,
        code: Code,
        kind: Kind,
        starts_on: StartsOn,
        ends_on: EndsOn,
        label: Label,
    }
    deliverable {
        id: Id,
        task_id: TaskId,
        description: Description,
        position: Position,
        inferred: Inferred,
        valid_from: ValidFrom,
        valid_to: ValidTo,
    }
    agency_group {
        id: Id,
        jurisdiction: Jurisdiction,
        code: Code,
        name: Name,
        plan_id: PlanId,
        note: Note,
        expands_to: ExpandsTo,
    }
    reporting_window {
        id: Id,
        plan_id: PlanId,
        period_id: PeriodId,
        opens_at: OpensAt,
        due_at: DueAt,
        closes_at: ClosesAt,
        reopened: Reopened,
        created_by: CreatedBy,
        created_at: CreatedAt,
        updated_at: UpdatedAt,
    }
    user {
        id: Id,
        agency_id: AgencyId,
        username: Username,
        display_name: DisplayName,
        role: Role,
        password_hash: PasswordHash,
        disabled: Disabled,
        created_at: CreatedAt,
    }
}
