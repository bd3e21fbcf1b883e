//! The cost model: a field costs 1, and a list multiplies what it selects by how many
//! items it can hold — a connection by its page size, an unpaged list by its bound. The
//! schema refuses a query whose cost exceeds `--max-complexity` before any database work,
//! so a short query over nested lists cannot fan out into millions of rows.
use super::filters::IntoFilter;
use crate::service::{
    filter::Predicate,
    pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE},
};

/// No single cost grows past this, so that adding costs up never overflows.
const CEILING: usize = 1_000_000_000;

/// Items an unpaged list may hold, used as its multiplier. Each bound is what the data
/// model allows in a plan like 768 with room to spare.
pub mod bound {
    /// Sections of a plan.
    pub const SECTIONS: usize = 10;
    /// Tasks of a section.
    pub const TASKS_OF_SECTION: usize = 30;
    /// Assignments, lead or partner agencies of a task (groups expanded).
    pub const AGENCIES_OF_TASK: usize = 25;
    /// Deliverables of a task, or evidence rows of a submission.
    pub const DELIVERABLES: usize = 5;
    /// Phase periods of a task's timeframe.
    pub const TIMEFRAME: usize = 3;
    /// Tasks an agency leads or partners in.
    pub const TASKS_OF_AGENCY: usize = 25;
    /// Groups an agency is in, or members of a group.
    pub const GROUPS: usize = 25;
    /// Submissions hanging from one task or agency.
    pub const SUBMISSIONS_OF_PARENT: usize = crate::service::submissions::MAX_OF_PARENT;
    /// Audit entries of one submission.
    pub const HISTORY: usize = 50;
    /// Agency groups, periods or reporting windows listed whole.
    pub const CATALOG_LIST: usize = 100;
    /// Obligation or progress rows of one query.
    pub const ANALYSIS_ROWS: usize = 1_000;
}

/// What one row of an analysis (obligations, progress) costs besides its selected fields:
/// the service builds every row whole, with its task, agency and period.
pub const ANALYSIS_ROW: usize = 10;

/// The cost of an analysis of at most `ANALYSIS_ROWS` rows selecting `child` per row.
pub fn analysis(child: usize) -> usize {
    list(bound::ANALYSIS_ROWS, child.saturating_add(ANALYSIS_ROW))
}

/// What the operations of one batched request have spent together: the cost limit holds
/// for the batch as a whole, not only for each of its operations.
#[derive(Debug)]
pub struct BatchBudget {
    spent: std::sync::atomic::AtomicUsize,
    max: usize,
}

impl BatchBudget {
    pub fn new(max: usize) -> Self {
        Self {
            spent: std::sync::atomic::AtomicUsize::new(0),
            max,
        }
    }

    /// Spends `cost`; false once the batch has spent more than its limit.
    pub fn spend(&self, cost: usize) -> bool {
        let before = self
            .spent
            .fetch_add(cost, std::sync::atomic::Ordering::SeqCst);
        before.saturating_add(cost) <= self.max
    }
}

/// The cost of a list of at most `items` whose elements each cost `child`.
pub fn list(items: usize, child: usize) -> usize {
    items.saturating_mul(child.max(1)).min(CEILING)
}

/// What one condition of a filter costs: each is a SQL condition or subquery over a
/// whole table, whatever the page size.
pub const FILTER_TERM: usize = 50;

/// The number of conditions of an optional filter input (0 where it does not convert;
/// the resolver then refuses it).
pub fn terms<I: IntoFilter + Clone>(filter: &Option<I>) -> usize
where
    I::Predicate: Predicate,
{
    filter
        .clone()
        .and_then(|f| f.into_filter().ok())
        .map_or(0, |f| f.size().terms)
}

/// A page of a list narrowed by a filter of `terms` conditions.
pub fn filtered_page(first: Option<i32>, terms: usize, child: usize) -> usize {
    page(first, child)
        .saturating_add(terms.saturating_mul(FILTER_TERM))
        .min(CEILING)
}

/// A grouped aggregate over `dimensions`, narrowed by a filter of `terms` conditions:
/// up to `ANALYSIS_ROWS` groups, each grouping dimension a further sort of the rows.
pub fn aggregate(dimensions: usize, terms: usize, child: usize) -> usize {
    analysis(child)
        .saturating_add(dimensions.saturating_mul(ANALYSIS_ROW * bound::ANALYSIS_ROWS))
        .saturating_add(terms.saturating_mul(FILTER_TERM))
        .min(CEILING)
}

/// The cost of a connection page of `first` items (the default page when absent).
pub fn page(first: Option<i32>, child: usize) -> usize {
    let items = first.map_or(DEFAULT_PAGE_SIZE, |n| (n.max(0) as u64).min(MAX_PAGE_SIZE));
    list(items as usize, child)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_multiply_and_saturate() {
        assert_eq!(list(10, 5), 50);
        assert_eq!(list(10, 0), 10, "an empty selection still costs its items");
        assert_eq!(page(None, 3), 60);
        assert_eq!(
            page(Some(500), 1),
            100,
            "pages beyond the maximum are refused elsewhere"
        );
        assert_eq!(page(Some(-4), 7), 0);
        assert_eq!(list(usize::MAX, usize::MAX), CEILING);
        assert_eq!(analysis(1), 11_000);
    }

    #[test]
    fn a_batch_shares_one_budget() {
        let budget = BatchBudget::new(100);
        assert!(budget.spend(60));
        assert!(budget.spend(40));
        assert!(!budget.spend(1));
    }
}
