//! Text rules: stored text is NFC; search compares a folded form that ignores case and
//! Vietnamese diacritics ("giam ngheo" finds "giảm nghèo").
use sea_orm::{
    ColumnTrait, Condition,
    sea_query::{ExprTrait, LikeExpr},
};
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

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

/// The folded words of a search string, with LIKE wildcards escaped.
pub fn search_terms(query: &str) -> Vec<String> {
    fold(query)
        .split_whitespace()
        .map(|word| {
            word.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        })
        .collect()
}

/// A condition that every word of `query` appears in the folded `column`.
pub fn matches_all<C: ColumnTrait>(column: C, query: &str) -> Condition {
    search_terms(query)
        .into_iter()
        .fold(Condition::all(), |all, term| {
            all.add(
                column
                    .into_expr()
                    .like(LikeExpr::new(format!("%{term}%")).escape('\\')),
            )
        })
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
        assert_eq!(search_terms("  50%  giảm_"), vec!["50\\%", "giam\\_"]);
    }
}
