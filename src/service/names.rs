//! Matching the agency names a plan's appendix writes to agency and group codes. Case,
//! diacritics, punctuation and the usual abbreviations do not count: "Sở LĐ-TB&XH",
//! "So Lao dong - Thuong binh va Xa hoi" and "Sở Lao động - Thương binh và Xã hội" are one
//! name, and "UBND các huyện, TX, TP" is "UBND các huyện, thị xã, thành phố".
use std::collections::{BTreeSet, HashMap};

use super::text;

/// What a name stands for: an agency or a group, by code.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Named {
    Agency(String),
    Group(String),
}

impl std::fmt::Display for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Agency(code) => write!(f, "agency {code}"),
            Self::Group(code) => write!(f, "group {code}"),
        }
    }
}

/// The usual abbreviations of agency names, as folded words, and what they stand for.
/// Longer forms come first where one starts another.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("ubmttqvn", "uy ban mat tran to quoc viet nam"),
    ("ubmttq", "uy ban mat tran to quoc"),
    ("mttqvn", "mat tran to quoc viet nam"),
    ("mttq", "mat tran to quoc"),
    ("ubnd", "uy ban nhan dan"),
    ("hdnd", "hoi dong nhan dan"),
    ("ld tb va xh", "lao dong thuong binh va xa hoi"),
    ("ld tbxh", "lao dong thuong binh va xa hoi"),
    ("ldtbxh", "lao dong thuong binh va xa hoi"),
    ("tt va tt", "thong tin va truyen thong"),
    ("tttt", "thong tin va truyen thong"),
    ("nn va ptnt", "nong nghiep va phat trien nong thon"),
    ("nnptnt", "nong nghiep va phat trien nong thon"),
    ("nn va mt", "nong nghiep va moi truong"),
    ("nnmt", "nong nghiep va moi truong"),
    ("tn va mt", "tai nguyen va moi truong"),
    ("tnmt", "tai nguyen va moi truong"),
    ("kh va dt", "ke hoach va dau tu"),
    ("khdt", "ke hoach va dau tu"),
    ("kh va cn", "khoa hoc va cong nghe"),
    ("khcn", "khoa hoc va cong nghe"),
    ("gd va dt", "giao duc va dao tao"),
    ("gddt", "giao duc va dao tao"),
    ("vh tt va dl", "van hoa the thao va du lich"),
    ("vhttdl", "van hoa the thao va du lich"),
    ("gtvt", "giao thong van tai"),
    ("chqs", "chi huy quan su"),
    ("nhcsxh", "ngan hang chinh sach xa hoi"),
    ("vp", "van phong"),
    ("tx", "thi xa"),
    ("tp", "thanh pho"),
    ("vn", "viet nam"),
];

/// Longest abbreviation, in words.
const LONGEST_ABBREVIATION: usize = 4;

/// The form two names are compared in: folded (no case, no diacritics), "&" read as "và",
/// punctuation as spaces, abbreviations spelt out.
pub fn key(name: &str) -> String {
    let folded = text::fold(name).replace('&', " va ");
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    let mut i = 0;
    'words: while i < words.len() {
        for len in (1..=LONGEST_ABBREVIATION.min(words.len() - i)).rev() {
            let run = words[i..i + len].join(" ");
            if let Some((_, full)) = ABBREVIATIONS.iter().find(|(short, _)| *short == run) {
                out.push(full);
                i += len;
                continue 'words;
            }
        }
        out.push(words[i]);
        i += 1;
    }
    out.join(" ")
}

/// The province a people's committee's name ends with: "Bình Định" of "Ủy ban nhân dân
/// tỉnh Bình Định".
pub fn province_of(name: &str) -> Option<String> {
    let words: Vec<&str> = name.split_whitespace().collect();
    let at = words.iter().rposition(|w| text::fold(w) == "tinh")?;
    let province = words[at + 1..].join(" ");
    (!province.is_empty()).then_some(province)
}

/// A group named for one task, "Các sở, ngành có liên quan (nhiệm vụ III.2)": the wording
/// and the task's label ("III.2").
pub fn task_qualified(name: &str) -> Option<(&str, &str)> {
    let (wording, rest) = name.trim().strip_suffix(')')?.rsplit_once('(')?;
    let label = rest.trim();
    let label = text::fold(label)
        .strip_prefix("nhiem vu")
        .map(|_| label.split_whitespace().last().unwrap_or_default())?;
    Some((wording.trim(), label))
}

/// How a name was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// One agency or group.
    One(Named),
    /// Several: the name does not say which.
    Ambiguous(Vec<Named>),
    /// None.
    Unknown,
}

/// The names known to an import, each standing for one or more agencies or groups.
#[derive(Debug, Default)]
pub struct NameIndex {
    by_key: HashMap<String, BTreeSet<Named>>,
    /// A name of each key as written, to suggest for a near miss.
    written: HashMap<String, String>,
}

impl NameIndex {
    /// Knows `name` (and the wording of a task-qualified group name, for that task only)
    /// as standing for `named`.
    pub fn add(&mut self, name: &str, named: Named) {
        if let Some((wording, label)) = task_qualified(name) {
            self.insert(scoped(&key(wording), label), wording, named.clone());
        }
        self.insert(key(name), name, named);
    }

    /// Knows `name` without its province at the end ("Sở Tài chính tỉnh Thử Nghiệm" as
    /// "Sở Tài chính"), where it ends so.
    pub fn add_without_province(&mut self, name: &str, province: &str, named: Named) {
        let full = key(name);
        let province = key(province);
        let stripped = [format!(" tinh {province}"), format!(" {province}")]
            .iter()
            .find_map(|suffix| full.strip_suffix(suffix.as_str()).map(str::to_owned));
        if let Some(stripped) = stripped {
            self.insert(stripped, name, named);
        }
    }

    fn insert(&mut self, key: String, written: &str, named: Named) {
        if key.is_empty() {
            return;
        }
        self.written
            .entry(key.clone())
            .or_insert_with(|| written.trim().to_owned());
        self.by_key.entry(key).or_default().insert(named);
    }

    /// What `name` stands for in the task labelled `task` ("III.2"): a group named for
    /// that task first, then any agency or group.
    pub fn lookup(&self, name: &str, task: &str) -> Lookup {
        let key = key(name);
        let found = self
            .by_key
            .get(&scoped(&key, task))
            .or_else(|| self.by_key.get(&key));
        match found {
            None => Lookup::Unknown,
            Some(set) if set.len() == 1 => Lookup::One(set.iter().next().cloned().unwrap()),
            Some(set) => Lookup::Ambiguous(set.iter().cloned().collect()),
        }
    }

    /// The known name nearest to `name`, where one is near enough to be a misspelling.
    pub fn nearest(&self, name: &str) -> Option<&str> {
        let wanted = key(name);
        self.written
            .iter()
            .filter(|(key, _)| !key.contains('|'))
            .map(|(key, written)| (strsim::normalized_levenshtein(&wanted, key), written))
            .filter(|(score, _)| *score >= 0.75)
            .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
            .map(|(_, written)| written.as_str())
    }
}

fn scoped(key: &str, task: &str) -> String {
    format!("{key}|{}", text::fold(task))
}

/// One name of a cell, as written, and what it was found to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellName {
    pub wording: String,
    pub found: Lookup,
}

/// Most names one cell may hold.
pub const MAX_NAMES_PER_CELL: usize = 64;

/// The names of an assignee cell. Names are separated by new lines or ";"; commas both
/// separate names and occur inside them ("UBND các huyện, thị xã, thành phố"), so the
/// longest run of comma-separated parts that is a known name is taken first.
pub fn split_cell(index: &NameIndex, cell: &str, task: &str) -> Result<Vec<CellName>, String> {
    if cell.split(['\n', ';', ',']).count() > MAX_NAMES_PER_CELL {
        return Err(format!(
            "more than {MAX_NAMES_PER_CELL} names or parts of names in one cell"
        ));
    }
    let mut names = Vec::new();
    for part in cell
        .split(['\n', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let pieces: Vec<&str> = part.split(',').collect();
        let mut start = 0;
        while start < pieces.len() {
            let longest = (start + 1..=pieces.len()).rev().find_map(|end| {
                let wording = pieces[start..end].join(",").trim().to_owned();
                match index.lookup(&wording, task) {
                    Lookup::Unknown => None,
                    found => Some((end, CellName { wording, found })),
                }
            });
            match longest {
                Some((end, name)) => {
                    names.push(name);
                    start = end;
                }
                None => {
                    let wording = pieces[start].trim().to_owned();
                    if !wording.is_empty() {
                        names.push(CellName {
                            wording,
                            found: Lookup::Unknown,
                        });
                    }
                    start += 1;
                }
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> NameIndex {
        let mut index = NameIndex::default();
        for (name, code) in [
            ("Sở Lao động - Thương binh và Xã hội", "so-ldtbxh"),
            ("Sở LĐ-TB&XH", "so-ldtbxh"),
            ("Sở Thông tin và Truyền thông", "so-tttt"),
            ("Sở Tư pháp", "so-tu-phap"),
            ("Bộ Chỉ huy Quân sự tỉnh", "bchqs-tinh"),
        ] {
            index.add(name, Named::Agency(code.into()));
        }
        index.add(
            "UBND các huyện, thị xã, thành phố",
            Named::Group("ubnd-cac-huyen".into()),
        );
        index.add("Các sở, ngành", Named::Group("cac-so-nganh".into()));
        index.add(
            "Các sở, ngành có liên quan (nhiệm vụ III.2)",
            Named::Group("lien-quan-iii-2".into()),
        );
        index.add(
            "Các sở, ngành có liên quan (nhiệm vụ III.3)",
            Named::Group("lien-quan-iii-3".into()),
        );
        index
    }

    fn agency(code: &str) -> Lookup {
        Lookup::One(Named::Agency(code.into()))
    }

    #[test]
    fn case_diacritics_punctuation_and_abbreviations_do_not_count() {
        let index = index();
        for name in [
            "Sở Lao động - Thương binh và Xã hội",
            "SỞ LAO ĐỘNG – THƯƠNG BINH VÀ XÃ HỘI",
            "So Lao dong - Thuong binh va Xa hoi",
            "Sở LĐ-TB&XH",
            "Sở LĐTBXH",
            "Sở Lao động, Thương binh & Xã hội",
        ] {
            assert_eq!(index.lookup(name, "I.1"), agency("so-ldtbxh"), "{name}");
        }
        assert_eq!(index.lookup("Sở TT&TT", "I.1"), agency("so-tttt"));
        assert_eq!(index.lookup("Bộ CHQS tỉnh", "I.1"), agency("bchqs-tinh"));
        assert_eq!(
            index.lookup("UBND các huyện, TX, TP", "I.1"),
            Lookup::One(Named::Group("ubnd-cac-huyen".into()))
        );
        assert_eq!(index.lookup("Sở Lao động", "I.1"), Lookup::Unknown);
    }

    #[test]
    fn a_group_named_for_a_task_is_found_by_its_wording_in_that_task_only() {
        let index = index();
        assert_eq!(
            index.lookup("Các sở, ngành có liên quan", "III.3"),
            Lookup::One(Named::Group("lien-quan-iii-3".into()))
        );
        assert_eq!(
            index.lookup("Các sở, ngành có liên quan", "III.5"),
            Lookup::Unknown
        );
        assert_eq!(
            task_qualified("Sở, ngành có liên quan (nhiệm vụ IV)"),
            Some(("Sở, ngành có liên quan", "IV"))
        );
        assert_eq!(task_qualified("Ban Dân tộc (cũ)"), None);
    }

    #[test]
    fn commas_inside_a_name_are_kept_and_between_names_split() {
        let index = index();
        let names = split_cell(
            &index,
            "Sở Tư pháp, UBND các huyện, thị xã, thành phố; Các sở, ngành\nSở TT&TT",
            "I.1",
        )
        .unwrap();
        let wordings: Vec<&str> = names.iter().map(|n| n.wording.as_str()).collect();
        assert_eq!(
            wordings,
            [
                "Sở Tư pháp",
                "UBND các huyện, thị xã, thành phố",
                "Các sở, ngành",
                "Sở TT&TT"
            ]
        );
        assert!(names.iter().all(|n| matches!(n.found, Lookup::One(_))));
        let crowded = "Sở Tư pháp, ".repeat(MAX_NAMES_PER_CELL) + "Sở TT&TT";
        assert!(split_cell(&index, &crowded, "I.1").is_err());
    }

    #[test]
    fn an_unknown_or_shared_name_is_reported_with_the_nearest_known_one() {
        let mut index = index();
        let names = split_cell(
            &index,
            "Sở Tư pháp, Sở Lao động - Thương binh và Xã hộ",
            "I.1",
        )
        .unwrap();
        assert_eq!(names[1].found, Lookup::Unknown);
        assert_eq!(
            index.nearest(&names[1].wording),
            Some("Sở Lao động - Thương binh và Xã hội")
        );
        assert_eq!(index.nearest("Sở Ngoại vụ"), None);
        index.add("Sở Tư pháp", Named::Agency("tn-so-tu-phap".into()));
        assert_eq!(
            index.lookup("Sở Tư pháp", "I.1"),
            Lookup::Ambiguous(vec![
                Named::Agency("so-tu-phap".into()),
                Named::Agency("tn-so-tu-phap".into())
            ])
        );
        // Named with its province, an agency is found without it too.
        let mut own = NameIndex::default();
        let province = province_of("Ủy ban nhân dân tỉnh Thử Nghiệm").unwrap();
        assert_eq!(province, "Thử Nghiệm");
        own.add_without_province(
            "Sở Tư pháp tỉnh Thử Nghiệm",
            &province,
            Named::Agency("tn-so-tu-phap".into()),
        );
        assert_eq!(own.lookup("Sở Tư pháp", "I.1"), agency("tn-so-tu-phap"));
    }
}
