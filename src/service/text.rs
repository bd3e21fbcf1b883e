//! Text rules: stored text is NFC; search compares a folded form that ignores case and
//! Vietnamese diacritics ("giam ngheo" finds "giảm nghèo").
use sea_orm::{
    Condition, DbBackend,
    sea_query::{Expr, ExprTrait, IntoColumnRef, LikeExpr},
};
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use super::{ServiceError, ServiceResult};

/// NFC-normalise and trim.
pub fn normalize(text: &str) -> String {
    text.trim().nfc().collect()
}

/// Lowercase ASCII-ish form without diacritics, used for search columns and terms.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Most words one search may hold.
pub const MAX_SEARCH_TERMS: usize = 16;
/// Longest word of a search, in characters.
pub const MAX_SEARCH_TERM_CHARS: usize = 64;

/// The folded words of a search string, with LIKE wildcards escaped. Searches are
/// bounded in words and word length: each word is one LIKE over the folded column.
pub fn search_terms(query: &str) -> ServiceResult<Vec<String>> {
    let folded = fold(query);
    let words: Vec<&str> = folded.split_whitespace().collect();
    if words.len() > MAX_SEARCH_TERMS {
        return Err(ServiceError::bad_input(format!(
            "a search may hold at most {MAX_SEARCH_TERMS} words"
        )));
    }
    if words
        .iter()
        .any(|w| w.chars().count() > MAX_SEARCH_TERM_CHARS)
    {
        return Err(ServiceError::bad_input(format!(
            "a search word may be at most {MAX_SEARCH_TERM_CHARS} characters long"
        )));
    }
    Ok(words
        .into_iter()
        .map(|word| {
            word.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        })
        .collect())
}

/// A condition that every word of `query` appears in the folded `column`.
pub fn matches_all<C: IntoColumnRef + Clone>(column: C, query: &str) -> ServiceResult<Condition> {
    Ok(search_terms(query)?
        .into_iter()
        .fold(Condition::all(), |all, term| {
            all.add(Expr::col(column.clone()).like(LikeExpr::new(format!("%{term}%")).escape('\\')))
        }))
}

/// A condition that every word of `query` appears in a report's folded text, by id.
/// On PostgreSQL each word is one `id = ANY(ARRAY(SELECT plantrack_report_search(…)))`:
/// the function can use the trigram index, which row-level security keeps a plain LIKE
/// from using (see the migration `m20260104_000001_report_search`).
pub fn reports_matching(
    backend: DbBackend,
    id: impl IntoColumnRef + Clone,
    search_text: impl IntoColumnRef + Clone,
    query: &str,
) -> ServiceResult<Condition> {
    if backend != DbBackend::Postgres {
        return matches_all(search_text, query);
    }
    Ok(search_terms(query)?
        .into_iter()
        .fold(Condition::all(), |all, term| {
            // An array made once (an init plan), compared with a leakproof `=`: small
            // arrays become index lookups by id; `IN (SELECT …)` let the planner pick a
            // nested loop over every id of a common word (bench/SEARCH.md).
            // PostgreSQL-only SQL, so `$n` are its placeholders.
            all.add(Expr::cust_with_exprs(
                "$1 = ANY(ARRAY(SELECT plantrack_report_search($2)))",
                [Expr::col(id.clone()), Expr::val(format!("%{term}%"))],
            ))
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_drops_case_and_diacritics() {
        assert_eq!(fold("Giảm Nghèo"), "giam ngheo");
        assert_eq!(fold("DÂN TỘC"), "dan toc");
        assert_eq!(fold("Đầu tư"), "dau tu");
    }

    #[test]
    fn normalize_composes() {
        let decomposed = "Xa\u{0303} hội";
        assert_eq!(normalize(decomposed), "Xã hội");
        assert_eq!(normalize("  x "), "x");
    }

    #[test]
    fn search_terms_escape_wildcards() {
        assert_eq!(
            search_terms("  50%  giảm_").unwrap(),
            vec!["50\\%", "giam\\_"]
        );
        assert!(search_terms(&"a ".repeat(17)).is_err());
        assert!(search_terms(&"a".repeat(65)).is_err());
        assert_eq!(search_terms(&"á ".repeat(16)).unwrap().len(), 16);
    }
}
