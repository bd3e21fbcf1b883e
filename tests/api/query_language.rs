//! The query language of issue 8, checked against the fixture it runs on: a differential
//! test (random filters, orderings and groupings through the API against an independent
//! in-memory evaluator over the rows read straight from the database, for several
//! roles), the three analyst questions as single queries, aggregates that never count
//! another agency's draft, and the refusals of foreign cursors, long `in` lists and deep
//! filters. On SQLite and PostgreSQL.
//!
//! The differential test runs `PLANTRACK_QUERY_CASES` cases (default 40) per backend, or
//! fewer once `PLANTRACK_QUERY_SECS` (default 60) have passed; `PLANTRACK_QUERY_SEED`
//! repeats a run.
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate, Utc};
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner},
};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::{
    fixtures::PLAN,
    on_both_databases,
    support::{Client, TestApp, say},
};

// ---------------------------------------------------------------------------------------
// The fixture: several agencies' reports in every status, over several periods.

const STATUSES: [&str; 4] = ["DRAFT", "SUBMITTED", "RETURNED", "ACCEPTED"];
const PROGRESS: [&str; 3] = ["NOT_STARTED", "IN_PROGRESS", "COMPLETED"];

/// Summaries, with Vietnamese diacritics.
const PHRASES: [&str; 6] = [
    "Đã bố trí Kinh phí hỗ trợ hộ nghèo",
    "Đào tạo nghề cho lao động nông thôn",
    "Hỗ trợ nhà ở cho hộ nghèo",
    "Tín dụng chính sách xã hội",
    "Truyền thông về giảm nghèo bền vững",
    "Giải quyết việc làm cho thanh niên",
];

/// Who writes reports in the fixture: editors of two districts and two departments, and
/// the coordinator's agency (whose reports nobody can review: only drafts and submitted).
const AUTHORS: [&str; 5] = ["tayson", "anlao", "tttt", "nnptnt", "coordinator"];

/// Tasks per author and the periods they report on.
const TASKS_PER_AUTHOR: usize = 3;

struct Fixture {
    periods: Vec<&'static str>,
}

/// The tasks an agency leads or cooperates on, each with its deliverables.
async fn assigned_tasks(client: &Client<'_>, code: &str) -> Vec<(String, Vec<String>)> {
    let reply = client
        .graphql(
            "query($c: String!) { tasks(first: 100, orderBy: [{field: POSITION}], filter: { or: [
                 { leadAgencies: { some: { code: { equalTo: $c } } } },
                 { partnerAgencies: { some: { code: { equalTo: $c } } } } ] }) {
               nodes { id deliverables { id } } } }",
            json!({ "c": code }),
        )
        .await;
    reply.data()["tasks"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_owned(),
                t["deliverables"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["id"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

async fn agency_code(client: &Client<'_>) -> String {
    client
        .graphql("{ me { agency { code } } }", json!({}))
        .await
        .data()["me"]["agency"]["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn mutate(client: &Client<'_>, query: &str, variables: Value, name: &str) -> (String, i64) {
    let reply = client.graphql(query, variables).await;
    let s = &reply.data()[name];
    (
        s["id"].as_str().unwrap().to_owned(),
        s["version"].as_i64().unwrap(),
    )
}

/// Opens `period` as the coordinator: open since three hours, due `due_in_hours` from
/// now (negative: already past), closing a day from now.
async fn open_window(app: &TestApp, period: &str, due_in_hours: i64) -> crate::support::Reply {
    let now = Utc::now();
    app.client("coordinator")
        .await
        .graphql(
            "mutation($i: OpenReportingWindowInput!) { openReportingWindow(input: $i) { isOpen } }",
            json!({ "i": {
                "planCode": PLAN,
                "periodCode": period,
                "opensAt": (now - chrono::Duration::hours(3)).to_rfc3339(),
                "dueAt": (now + chrono::Duration::hours(due_in_hours)).to_rfc3339(),
                "closesAt": (now + chrono::Duration::hours(72)).to_rfc3339(),
            } }),
        )
        .await
}

/// Builds the fixture through the API: about 40 reports.
async fn build(app: &TestApp) -> Fixture {
    // 2024: due an hour ago (late); 2025 and 2024S1: due in two days (on time).
    open_window(app, "2024", -1).await.data();
    open_window(app, "2025", 48).await.data();
    let mut periods = vec!["2024", "2025"];
    if open_window(app, "2024S1", 48)
        .await
        .body
        .get("errors")
        .is_none()
    {
        periods.push("2024S1");
    }
    let coordinator = app.client("coordinator").await;
    let mut i = 0usize;
    for (a, author) in AUTHORS.iter().enumerate() {
        let client = app.client(author).await;
        let code = agency_code(&client).await;
        let tasks = assigned_tasks(&client, &code).await;
        for (task, deliverables) in tasks.iter().take(TASKS_PER_AUTHOR) {
            for period in &periods {
                i += 1;
                let status = if *author == "coordinator" {
                    STATUSES[i % 2]
                } else {
                    STATUSES[(i + a) % 4]
                };
                let evidence: Vec<Value> = if i % 3 == 2 {
                    Vec::new()
                } else {
                    deliverables
                        .iter()
                        .take(2)
                        .enumerate()
                        .map(|(d, id)| {
                            let reference = if i % 7 == 1 {
                                Some(format!("Quyết định số {i}/QĐ-UBND về kinh phí thực hiện"))
                            } else if d == 0 {
                                Some(format!("Kế hoạch số {i}/KH-UBND"))
                            } else {
                                None
                            };
                            json!({ "deliverableId": id, "status": PROGRESS[(i + d) % 3], "documentRef": reference })
                        })
                        .collect()
                };
                let input = json!({
                    "taskId": task,
                    "periodCode": period,
                    "progress": PROGRESS[i % 3],
                    "summary": PHRASES[i % PHRASES.len()],
                    "results": format!("Kết quả đợt {i}"),
                    "difficulties": if i.is_multiple_of(5) { "Khó khăn về nhân lực" } else { "" },
                    "proposals": if i.is_multiple_of(4) { "Đề nghị bổ sung chỉ tiêu" } else { "" },
                    "deliverables": evidence,
                });
                let (id, version) = mutate(
                    &client,
                    "mutation($i: SaveSubmissionInput!) { saveSubmission(input: $i) { id version } }",
                    json!({ "i": input }),
                    "saveSubmission",
                )
                .await;
                if status == "DRAFT" {
                    continue;
                }
                let (_, version) = mutate(
                    &client,
                    "mutation($id: ID!, $v: Int!) { submitSubmission(id: $id, expectedVersion: $v) { id version } }",
                    json!({ "id": id, "v": version }),
                    "submitSubmission",
                )
                .await;
                let decision = match status {
                    "ACCEPTED" => "ACCEPT",
                    "RETURNED" => "RETURN",
                    _ => continue,
                };
                mutate(
                    &coordinator,
                    "mutation($id: ID!, $v: Int!, $d: ReviewDecision!) {
                       reviewSubmission(id: $id, expectedVersion: $v, decision: $d, comment: \"xem lại\") { id version } }",
                    json!({ "id": id, "v": version, "d": decision }),
                    "reviewSubmission",
                )
                .await;
            }
        }
    }
    Fixture { periods }
}

// ---------------------------------------------------------------------------------------
// The ground truth, read as the tables' owner.

#[derive(Clone, Debug)]
struct Evidence {
    status: String,
    document_ref: Option<String>,
}

#[derive(Clone, Debug)]
struct Row {
    id: i64,
    agency_id: i64,
    plan_id: i64,
    agency_code: String,
    agency_kind: String,
    task_id: i64,
    numeral: String,
    task_number: Option<i64>,
    period_code: String,
    starts_on: NaiveDate,
    status: String,
    progress: String,
    on_time: Option<bool>,
    submitted_at: Option<DateTime<Utc>>,
    texts: Vec<String>,
    evidence: Vec<Evidence>,
}

/// Who asks: the agency and the rule's reach.
#[derive(Clone, Debug)]
struct Caller {
    user: &'static str,
    agency_id: i64,
    /// Sees every non-draft (analyst, admin).
    all_non_drafts: bool,
    /// Sees the non-drafts of these plans (coordinator).
    plans: Vec<i64>,
}

impl Caller {
    fn sees(&self, row: &Row) -> bool {
        row.agency_id == self.agency_id
            || (row.status != "DRAFT" && (self.all_non_drafts || self.plans.contains(&row.plan_id)))
    }
}

struct Truth {
    rows: Vec<Row>,
    callers: HashMap<&'static str, Caller>,
}

async fn query_all(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("ground truth query")
}

async fn truth(app: &TestApp) -> Truth {
    let db = app.owner_db().await;
    let mut evidence: HashMap<i64, Vec<Evidence>> = HashMap::new();
    for r in query_all(
        &db,
        "SELECT submission_id, status, document_ref FROM submission_deliverable",
    )
    .await
    {
        evidence
            .entry(r.try_get("", "submission_id").unwrap())
            .or_default()
            .push(Evidence {
                status: r.try_get("", "status").unwrap(),
                document_ref: r.try_get("", "document_ref").unwrap(),
            });
    }
    let rows = query_all(
        &db,
        "SELECT s.id, s.agency_id, s.plan_id, a.code AS agency_code, a.kind AS agency_kind,
                s.task_id, sec.numeral, CAST(t.number AS BIGINT) AS task_number, p.code AS period_code,
                p.starts_on, s.status, s.progress, s.on_time, s.submitted_at,
                s.summary, s.results, s.difficulties, s.proposals
         FROM submission s
         JOIN agency a ON a.id = s.agency_id
         JOIN task t ON t.id = s.task_id
         JOIN section sec ON sec.id = t.section_id
         JOIN period p ON p.id = s.period_id",
    )
    .await
    .into_iter()
    .map(|r| {
        let id: i64 = r.try_get("", "id").unwrap();
        let text = |c: &str| r.try_get::<String>("", c).unwrap();
        Row {
            id,
            agency_id: r.try_get("", "agency_id").unwrap(),
            plan_id: r.try_get("", "plan_id").unwrap(),
            agency_code: text("agency_code"),
            agency_kind: text("agency_kind"),
            task_id: r.try_get("", "task_id").unwrap(),
            numeral: text("numeral"),
            task_number: r.try_get("", "task_number").unwrap(),
            period_code: text("period_code"),
            starts_on: r.try_get("", "starts_on").unwrap(),
            status: text("status"),
            progress: text("progress"),
            on_time: r.try_get("", "on_time").unwrap(),
            submitted_at: r.try_get("", "submitted_at").unwrap(),
            texts: ["summary", "results", "difficulties", "proposals"]
                .iter()
                .map(|c| text(c))
                .collect(),
            evidence: evidence.remove(&id).unwrap_or_default(),
        }
    })
    .collect();
    let agency_of = |user: &str| -> String {
        crate::support::USERS
            .iter()
            .find(|(u, _, _)| *u == user)
            .unwrap()
            .1
            .to_owned()
    };
    let mut agencies = HashMap::new();
    for r in query_all(&db, "SELECT id, code FROM agency").await {
        agencies.insert(
            r.try_get::<String>("", "code").unwrap(),
            r.try_get::<i64>("", "id").unwrap(),
        );
    }
    let mut callers = HashMap::new();
    for user in [
        "tayson",
        "anlao",
        "tttt",
        "nnptnt",
        "tayson-viewer",
        "coordinator",
        "analyst",
        "admin",
    ] {
        let agency_id = agencies[&agency_of(user)];
        let plans = if user == "coordinator" {
            query_all(
                &db,
                &format!("SELECT id FROM plan WHERE coordinator_id = {agency_id}"),
            )
            .await
            .iter()
            .map(|r| r.try_get::<i64>("", "id").unwrap())
            .collect()
        } else {
            Vec::new()
        };
        callers.insert(
            user,
            Caller {
                user,
                agency_id,
                all_non_drafts: matches!(user, "analyst" | "admin"),
                plans,
            },
        );
    }
    Truth { rows, callers }
}

/// Lowercase, without Vietnamese diacritics (đ → d).
fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| if c == 'đ' || c == 'Đ' { 'd' } else { c })
        .flat_map(char::to_lowercase)
        .collect()
}

fn searches(row: &Row, words: &str) -> bool {
    let haystack: Vec<String> = row
        .texts
        .iter()
        .cloned()
        .chain(row.evidence.iter().filter_map(|e| e.document_ref.clone()))
        .map(|t| fold(&t))
        .collect();
    fold(words)
        .split_whitespace()
        .all(|w| haystack.iter().any(|h| h.contains(w)))
}

fn row_id(global: &str) -> i64 {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(global).unwrap()).unwrap();
    let (kind, id) = text.split_once(':').unwrap();
    assert_eq!(kind, "Submission");
    id.parse().unwrap()
}

// ---------------------------------------------------------------------------------------
// Filters: an AST shaped like the GraphQL input, rendered to JSON and evaluated.

/// Comparisons of a value of a closed set (or an exact text).
#[derive(Clone, Debug)]
enum Cmp {
    Eq(String),
    Ne(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    IsNull(bool),
    StartsWith(String),
    LessThan(String),
}

impl Cmp {
    fn json(&self) -> Value {
        match self {
            Cmp::Eq(v) => json!({ "equalTo": v }),
            Cmp::Ne(v) => json!({ "notEqualTo": v }),
            Cmp::In(v) => json!({ "in": v }),
            Cmp::NotIn(v) => json!({ "notIn": v }),
            Cmp::IsNull(v) => json!({ "isNull": v }),
            Cmp::StartsWith(v) => json!({ "startsWith": v }),
            Cmp::LessThan(v) => json!({ "lessThan": v }),
        }
    }

    /// On a value that is never null.
    fn holds(&self, value: &str) -> bool {
        match self {
            Cmp::Eq(v) => value == v,
            Cmp::Ne(v) => value != v,
            Cmp::In(v) => v.iter().any(|v| v == value),
            Cmp::NotIn(v) => !v.iter().any(|v| v == value),
            Cmp::IsNull(null) => !null,
            Cmp::StartsWith(v) => value.starts_with(v.as_str()),
            Cmp::LessThan(v) => value < v.as_str(),
        }
    }
}

#[derive(Clone, Debug)]
enum BoolCmp {
    Eq(bool),
    Ne(bool),
    In(Vec<bool>),
    IsNull(bool),
}

impl BoolCmp {
    fn json(&self) -> Value {
        match self {
            BoolCmp::Eq(v) => json!({ "equalTo": v }),
            BoolCmp::Ne(v) => json!({ "notEqualTo": v }),
            BoolCmp::In(v) => json!({ "in": v }),
            BoolCmp::IsNull(v) => json!({ "isNull": v }),
        }
    }

    /// A comparison with null is false; `isNull` excepted.
    fn holds(&self, value: Option<bool>) -> bool {
        match (self, value) {
            (BoolCmp::IsNull(null), v) => v.is_none() == *null,
            (_, None) => false,
            (BoolCmp::Eq(v), Some(x)) => x == *v,
            (BoolCmp::Ne(v), Some(x)) => x != *v,
            (BoolCmp::In(v), Some(x)) => v.contains(&x),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Quant {
    Some,
    Every,
    None,
}

/// One field of a `SubmissionFilter` object.
#[derive(Clone, Debug)]
enum Part {
    Status(Cmp),
    Progress(Cmp),
    OnTime(BoolCmp),
    AgencyKind(Cmp),
    AgencyCode(Cmp),
    Section(Cmp),
    Period(Cmp),
    Search(String),
    Deliverables(Quant, Cmp),
    And(Vec<Obj>),
    Or(Vec<Obj>),
    Not(Box<Obj>),
}

/// A `SubmissionFilter` object: its fields all hold.
#[derive(Clone, Debug)]
struct Obj(Vec<Part>);

impl Part {
    /// The object key; one object holds each key once.
    fn key(&self) -> &'static str {
        match self {
            Part::Status(_) => "status",
            Part::Progress(_) => "progress",
            Part::OnTime(_) => "onTime",
            Part::AgencyKind(_) | Part::AgencyCode(_) => "agency",
            Part::Section(_) => "task",
            Part::Period(_) => "period",
            Part::Search(_) => "search",
            Part::Deliverables(..) => "deliverables",
            Part::And(_) => "and",
            Part::Or(_) => "or",
            Part::Not(_) => "not",
        }
    }

    fn json(&self) -> Value {
        match self {
            Part::Status(c) | Part::Progress(c) => c.json(),
            Part::OnTime(c) => c.json(),
            Part::AgencyKind(c) => json!({ "kind": c.json() }),
            Part::AgencyCode(c) => json!({ "code": c.json() }),
            Part::Section(c) => json!({ "section": { "numeral": c.json() } }),
            Part::Period(c) => json!({ "code": c.json() }),
            Part::Search(words) => json!(words),
            Part::Deliverables(q, c) => {
                let q = match q {
                    Quant::Some => "some",
                    Quant::Every => "every",
                    Quant::None => "none",
                };
                json!({ q: { "status": c.json() } })
            }
            Part::And(list) | Part::Or(list) => Value::Array(list.iter().map(Obj::json).collect()),
            Part::Not(obj) => obj.json(),
        }
    }

    fn holds(&self, row: &Row) -> bool {
        match self {
            Part::Status(c) => c.holds(&row.status),
            Part::Progress(c) => c.holds(&row.progress),
            Part::OnTime(c) => c.holds(row.on_time),
            Part::AgencyKind(c) => c.holds(&row.agency_kind),
            Part::AgencyCode(c) => c.holds(&row.agency_code),
            Part::Section(c) => c.holds(&row.numeral),
            Part::Period(c) => c.holds(&row.period_code),
            Part::Search(words) => searches(row, words),
            Part::Deliverables(q, c) => {
                let mut each = row.evidence.iter().map(|e| c.holds(&e.status));
                match q {
                    Quant::Some => each.any(|m| m),
                    Quant::Every => each.all(|m| m),
                    Quant::None => !each.any(|m| m),
                }
            }
            Part::And(list) => list.iter().all(|o| o.holds(row)),
            Part::Or(list) => list.iter().any(|o| o.holds(row)),
            Part::Not(obj) => !obj.holds(row),
        }
    }

    /// The nesting depth the service counts (see `filter::Size`): an object is a level,
    /// `or` and `not` one more, a to-one relation its filter plus one.
    fn depth(&self) -> usize {
        match self {
            Part::AgencyKind(_) | Part::AgencyCode(_) | Part::Period(_) => 2,
            Part::Deliverables(..) => 2,
            // task { section { numeral } }: two relations, two objects.
            Part::Section(_) => 4,
            Part::And(list) => list.iter().map(Obj::depth).max().unwrap_or(0),
            Part::Or(list) => list.iter().map(Obj::depth).max().unwrap_or(0) + 1,
            Part::Not(obj) => obj.depth() + 1,
            _ => 0,
        }
    }

    /// The conditions the service counts (see `filter::Size`): a comparison is one, and
    /// every object, `or`, `not` and relation one more.
    fn terms(&self) -> usize {
        match self {
            // relation { object { comparison } }
            Part::AgencyKind(_) | Part::AgencyCode(_) | Part::Period(_) => 3,
            Part::Deliverables(..) => 3,
            // task { object { section { object { numeral } } } }
            Part::Section(_) => 5,
            Part::And(list) => list.iter().map(Obj::terms).sum(),
            Part::Or(list) => list.iter().map(Obj::terms).sum::<usize>() + 1,
            Part::Not(obj) => obj.terms() + 1,
            _ => 1,
        }
    }
}

impl Obj {
    fn json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|p| (p.key().to_owned(), p.json()))
                .collect(),
        )
    }

    fn holds(&self, row: &Row) -> bool {
        self.0.iter().all(|p| p.holds(row))
    }

    fn depth(&self) -> usize {
        self.0.iter().map(Part::depth).max().unwrap_or(0) + 1
    }

    fn terms(&self) -> usize {
        self.0.iter().map(Part::terms).sum::<usize>() + 1
    }
}

fn pick(values: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(values).prop_map(str::to_owned)
}

fn some_of(values: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(values, 0..=values.len())
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

fn enum_cmp(values: &'static [&'static str]) -> impl Strategy<Value = Cmp> {
    prop_oneof![
        pick(values).prop_map(Cmp::Eq),
        pick(values).prop_map(Cmp::Ne),
        some_of(values).prop_map(Cmp::In),
        some_of(values).prop_map(Cmp::NotIn),
        any::<bool>().prop_map(Cmp::IsNull),
    ]
}

fn text_cmp(values: &'static [&'static str]) -> impl Strategy<Value = Cmp> {
    prop_oneof![
        pick(values).prop_map(Cmp::Eq),
        pick(values).prop_map(Cmp::Ne),
        some_of(values).prop_map(Cmp::In),
        some_of(values).prop_map(Cmp::NotIn),
        pick(values).prop_map(Cmp::StartsWith),
        pick(values).prop_map(Cmp::LessThan),
    ]
}

const KINDS: &[&str] = &["DISTRICT", "DEPARTMENT", "PROVINCIAL_BODY"];
const CODES: &[&str] = &[
    "ubnd-tay-son",
    "ubnd-an-lao",
    "so-tttt",
    "so-nnptnt",
    "so-ldtbxh",
    "ubnd-tinh",
    "nope",
];
const NUMERALS: &[&str] = &["I", "II", "III", "IV", "V"];
const PERIODS: &[&str] = &["2024", "2025", "2024S1", "2021-2025"];
const WORDS: &[&str] = &[
    "kinh phi",
    "Kinh Phí",
    "ngheo",
    "HỘ NGHÈO",
    "dao tao",
    "đào",
    "nha o",
    "tin dung",
    "ket qua",
    "kho khan",
    "quyet dinh",
    "xyz",
];

fn leaf() -> impl Strategy<Value = Part> {
    prop_oneof![
        enum_cmp(&STATUSES).prop_map(Part::Status),
        enum_cmp(&PROGRESS).prop_map(Part::Progress),
        prop_oneof![
            any::<bool>().prop_map(BoolCmp::Eq),
            any::<bool>().prop_map(BoolCmp::Ne),
            proptest::collection::vec(any::<bool>(), 0..=2).prop_map(BoolCmp::In),
            any::<bool>().prop_map(BoolCmp::IsNull),
        ]
        .prop_map(Part::OnTime),
        enum_cmp(KINDS).prop_map(Part::AgencyKind),
        some_of(CODES).prop_map(|c| Part::AgencyCode(Cmp::In(c))),
        text_cmp(NUMERALS).prop_map(Part::Section),
        text_cmp(PERIODS).prop_map(Part::Period),
        pick(WORDS).prop_map(Part::Search),
        (
            prop_oneof![Just(Quant::Some), Just(Quant::Every), Just(Quant::None)],
            enum_cmp(&PROGRESS),
        )
            .prop_map(|(q, c)| Part::Deliverables(q, c)),
    ]
}

/// An object of distinct keys.
fn obj_of(parts: Vec<Part>) -> Obj {
    let mut seen = BTreeSet::new();
    Obj(parts.into_iter().filter(|p| seen.insert(p.key())).collect())
}

fn filter() -> impl Strategy<Value = Obj> {
    let leaf_obj = proptest::collection::vec(leaf(), 1..=2).prop_map(obj_of);
    leaf_obj.prop_recursive(3, 24, 3, |inner| {
        proptest::collection::vec(
            prop_oneof![
                2 => leaf(),
                1 => proptest::collection::vec(inner.clone(), 1..=3).prop_map(Part::And),
                1 => proptest::collection::vec(inner.clone(), 1..=3).prop_map(Part::Or),
                1 => inner.prop_map(|o| Part::Not(Box::new(o))),
            ],
            1..=3,
        )
        .prop_map(obj_of)
    })
}

// ---------------------------------------------------------------------------------------
// Orderings.

#[derive(Clone, Copy, Debug, PartialEq)]
enum Field {
    SubmittedAt,
    Status,
    AgencyCode,
    TaskNumber,
    PeriodStartsOn,
    OnTime,
}

const FIELDS: [Field; 6] = [
    Field::SubmittedAt,
    Field::Status,
    Field::AgencyCode,
    Field::TaskNumber,
    Field::PeriodStartsOn,
    Field::OnTime,
];

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Int(i64),
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    Time(DateTime<Utc>),
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::SubmittedAt => "SUBMITTED_AT",
            Field::Status => "STATUS",
            Field::AgencyCode => "AGENCY_CODE",
            Field::TaskNumber => "TASK_NUMBER",
            Field::PeriodStartsOn => "PERIOD_STARTS_ON",
            Field::OnTime => "ON_TIME",
        }
    }

    fn of(self, row: &Row) -> Option<Key> {
        match self {
            Field::SubmittedAt => row.submitted_at.map(Key::Time),
            Field::Status => Some(Key::Text(row.status.clone())),
            Field::AgencyCode => Some(Key::Text(row.agency_code.clone())),
            Field::TaskNumber => row.task_number.map(Key::Int),
            Field::PeriodStartsOn => Some(Key::Date(row.starts_on)),
            Field::OnTime => row.on_time.map(Key::Bool),
        }
    }
}

#[derive(Clone, Debug)]
struct Sort {
    field: Field,
    descending: bool,
    /// None: last ascending, first descending.
    nulls_first: Option<bool>,
}

impl Sort {
    fn json(&self) -> Value {
        let mut o = json!({
            "field": self.field.name(),
            "direction": if self.descending { "DESC" } else { "ASC" },
        });
        if let Some(first) = self.nulls_first {
            o["nulls"] = json!(if first { "FIRST" } else { "LAST" });
        }
        o
    }
}

fn ordering() -> impl Strategy<Value = Vec<Sort>> {
    proptest::sample::subsequence(FIELDS.to_vec(), 1..=3)
        .prop_shuffle()
        .prop_flat_map(|fields| {
            let n = fields.len();
            (
                Just(fields),
                proptest::collection::vec(any::<bool>(), n),
                proptest::collection::vec(proptest::option::of(any::<bool>()), n),
            )
        })
        .prop_map(|(fields, desc, nulls)| {
            fields
                .into_iter()
                .zip(desc)
                .zip(nulls)
                .map(|((field, descending), nulls_first)| Sort {
                    field,
                    descending,
                    nulls_first,
                })
                .collect()
        })
}

/// The order the service promises: each key (nulls where asked; by default last
/// ascending, first descending), then the id in the direction of the last key.
fn sort_rows(rows: &mut [&Row], order: &[Sort]) {
    rows.sort_by(|a, b| {
        for s in order {
            let nulls_first = s.nulls_first.unwrap_or(s.descending);
            let ord = match (s.field.of(a), s.field.of(b)) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) if nulls_first => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) if nulls_first => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                (Some(x), Some(y)) if s.descending => y.cmp(&x),
                (Some(x), Some(y)) => x.cmp(&y),
            };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        let last_descending = order.last().is_some_and(|s| s.descending);
        if last_descending {
            b.id.cmp(&a.id)
        } else {
            a.id.cmp(&b.id)
        }
    });
}

// ---------------------------------------------------------------------------------------
// Groupings.

const DIMENSIONS: [&str; 5] = ["AGENCY", "STATUS", "PERIOD", "ON_TIME", "AGENCY_KIND"];

fn dimension_of(dimension: &str, row: &Row) -> Value {
    match dimension {
        "AGENCY" => json!(row.agency_code),
        "STATUS" => json!(row.status),
        "PERIOD" => json!(row.period_code),
        "ON_TIME" => json!(row.on_time),
        "AGENCY_KIND" => json!(row.agency_kind),
        other => panic!("dimension {other}"),
    }
}

fn dimension_of_group(dimension: &str, group: &Value) -> Value {
    let key = &group["key"];
    match dimension {
        "AGENCY" => key["agency"]["code"].clone(),
        "STATUS" => key["status"].clone(),
        "PERIOD" => key["period"]["code"].clone(),
        "ON_TIME" => key["onTime"].clone(),
        "AGENCY_KIND" => key["agencyKind"].clone(),
        other => panic!("dimension {other}"),
    }
}

/// What the test compares of a group: count, by status, on time, timeliness (rounded).
#[derive(Clone, Debug, PartialEq)]
struct Measured {
    count: i64,
    draft: i64,
    submitted: i64,
    returned: i64,
    accepted: i64,
    on_time: i64,
    timeliness: Option<String>,
    completeness: Option<String>,
}

fn ratio(part: i64, whole: i64) -> Option<String> {
    (whole != 0).then(|| format!("{:.6}", part as f64 / whole as f64))
}

fn expected_groups(rows: &[&Row], by: &[&str]) -> BTreeMap<String, Measured> {
    let mut groups: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    if by.is_empty() {
        // No dimension: one group of everything, even of nothing.
        groups.insert("[]".into(), Vec::new());
    }
    for row in rows {
        let key: Vec<Value> = by.iter().map(|d| dimension_of(d, row)).collect();
        groups
            .entry(Value::Array(key).to_string())
            .or_default()
            .push(row);
    }
    groups
        .into_iter()
        .map(|(key, rows)| {
            let n = |s: &str| rows.iter().filter(|r| r.status == s).count() as i64;
            let came_in = n("SUBMITTED") + n("ACCEPTED");
            let on_time = rows
                .iter()
                .filter(|r| {
                    r.on_time == Some(true) && (r.status == "SUBMITTED" || r.status == "ACCEPTED")
                })
                .count() as i64;
            let count = rows.len() as i64;
            (
                key,
                Measured {
                    count,
                    draft: n("DRAFT"),
                    submitted: n("SUBMITTED"),
                    returned: n("RETURNED"),
                    accepted: n("ACCEPTED"),
                    on_time,
                    timeliness: ratio(on_time, came_in),
                    completeness: ratio(came_in, count),
                },
            )
        })
        .collect()
}

fn actual_groups(groups: &[Value], by: &[&str]) -> BTreeMap<String, Measured> {
    let round = |v: &Value| v.as_f64().map(|x| format!("{x:.6}"));
    groups
        .iter()
        .map(|g| {
            let key: Vec<Value> = by.iter().map(|d| dimension_of_group(d, g)).collect();
            let n = |v: &Value| v.as_i64().unwrap();
            (
                Value::Array(key).to_string(),
                Measured {
                    count: n(&g["count"]),
                    draft: n(&g["byStatus"]["draft"]),
                    submitted: n(&g["byStatus"]["submitted"]),
                    returned: n(&g["byStatus"]["returned"]),
                    accepted: n(&g["byStatus"]["accepted"]),
                    on_time: n(&g["onTime"]),
                    timeliness: round(&g["timeliness"]),
                    completeness: round(&g["completeness"]),
                },
            )
        })
        .collect()
}

const AGGREGATE: &str = "query($f: SubmissionFilter, $g: [AggregateDimension!]!) {
  submissionsAggregate(filter: $f, groupBy: $g) {
    key { agency { code } status period { code } onTime agencyKind }
    count onTime timeliness completeness
    byStatus { missing draft submitted returned accepted } } }";

const PAGE: &str = "query($f: SubmissionFilter, $o: [SubmissionOrderBy!], $a: String) {
  submissions(filter: $f, orderBy: $o, first: 7, after: $a) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }";

// ---------------------------------------------------------------------------------------
// 1. The differential test.

#[derive(Clone, Debug)]
struct Case {
    filter: Option<Obj>,
    order: Vec<Sort>,
    group_by: Vec<&'static str>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::option::weighted(0.9, filter()),
        ordering(),
        proptest::sample::subsequence(DIMENSIONS.to_vec(), 0..=3).prop_shuffle(),
    )
        .prop_map(|(filter, order, group_by)| Case {
            filter,
            order,
            group_by,
        })
}

impl Case {
    fn filter_json(&self) -> Value {
        self.filter.as_ref().map_or(Value::Null, Obj::json)
    }

    fn holds(&self, row: &Row) -> bool {
        self.filter.as_ref().is_none_or(|f| f.holds(row))
    }

    /// Past the service's limits: deeper than 8 levels or more than 100 conditions.
    fn too_big(&self) -> bool {
        self.filter
            .as_ref()
            .is_some_and(|f| f.depth() > 8 || f.terms() > 100)
    }
}

struct Session<'a> {
    caller: Caller,
    client: Client<'a>,
}

async fn check_case(truth: &Truth, sessions: &[Session<'_>], case: &Case) -> Result<(), String> {
    let f = case.filter_json();
    let order: Vec<Value> = case.order.iter().map(Sort::json).collect();
    for session in sessions {
        let who = session.caller.user;
        if case.too_big() {
            let reply = session
                .client
                .graphql(PAGE, json!({ "f": f, "o": order }))
                .await;
            if reply.error_code() != Some("BAD_USER_INPUT") {
                return Err(format!(
                    "{who}: a filter {} levels deep with {} conditions was not refused: {}",
                    case.filter.as_ref().unwrap().depth(),
                    case.filter.as_ref().unwrap().terms(),
                    reply.body
                ));
            }
            continue;
        }
        let mut expected: Vec<&Row> = truth
            .rows
            .iter()
            .filter(|r| session.caller.sees(r) && case.holds(r))
            .collect();
        sort_rows(&mut expected, &case.order);
        let expected_ids: Vec<i64> = expected.iter().map(|r| r.id).collect();

        // Every page, following endCursor.
        let mut got = Vec::new();
        let mut after: Option<String> = None;
        for page in 0.. {
            if page > 40 {
                return Err(format!("{who}: more than 40 pages"));
            }
            let reply = session
                .client
                .graphql(PAGE, json!({ "f": f, "o": order, "a": after }))
                .await;
            if reply.body.get("errors").is_some() {
                return Err(format!("{who}: page {page}: {}", reply.body));
            }
            let c = &reply.body["data"]["submissions"];
            let total = c["totalCount"].as_u64().unwrap() as usize;
            if total != expected_ids.len() {
                return Err(format!(
                    "{who}: totalCount {total}, expected {} (page {page})",
                    expected_ids.len()
                ));
            }
            for e in c["edges"].as_array().unwrap() {
                got.push(row_id(e["node"]["id"].as_str().unwrap()));
            }
            if !c["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = Some(c["pageInfo"]["endCursor"].as_str().unwrap().to_owned());
        }
        if got != expected_ids {
            return Err(format!(
                "{who}: rows in order\n  got      {got:?}\n  expected {expected_ids:?}"
            ));
        }

        // The aggregate of the same filter.
        let reply = session
            .client
            .graphql(AGGREGATE, json!({ "f": f, "g": case.group_by }))
            .await;
        if reply.body.get("errors").is_some() {
            return Err(format!("{who}: aggregate: {}", reply.body));
        }
        let groups = reply.body["data"]["submissionsAggregate"]
            .as_array()
            .unwrap()
            .clone();
        let want = expected_groups(&expected, &case.group_by);
        let have = actual_groups(&groups, &case.group_by);
        if want != have {
            return Err(format!(
                "{who}: aggregate by {:?}\n  got      {have:?}\n  expected {want:?}",
                case.group_by
            ));
        }
        // 3. Isolation, said outright: no other agency's draft is ever counted.
        let drafts: i64 = have.values().map(|m| m.draft).sum();
        let own_drafts = expected
            .iter()
            .filter(|r| r.status == "DRAFT" && r.agency_id == session.caller.agency_id)
            .count() as i64;
        if drafts != own_drafts {
            return Err(format!(
                "{who}: the aggregate counts {drafts} drafts, its agency has {own_drafts}"
            ));
        }
    }
    Ok(())
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

async fn differential(app: TestApp) {
    let started = Instant::now();
    let fixture = build(&app).await;
    let truth = truth(&app).await;
    say(&format!(
        "NOTE: query language ({}): {} reports over {:?}, built in {:.1} s",
        app.backend,
        truth.rows.len(),
        fixture.periods,
        started.elapsed().as_secs_f64()
    ));
    assert!(truth.rows.len() >= 30, "a fixture of some size");
    for status in STATUSES {
        assert!(
            truth.rows.iter().any(|r| r.status == status),
            "the fixture has a {status} report"
        );
    }
    let mut sessions = Vec::new();
    for user in ["tayson", "coordinator", "analyst"] {
        sessions.push(Session {
            caller: truth.callers[user].clone(),
            client: app.client(user).await,
        });
    }

    let cases = env_number("PLANTRACK_QUERY_CASES", 40);
    let budget = Duration::from_secs(env_number("PLANTRACK_QUERY_SECS", 60));
    let seed = std::env::var("PLANTRACK_QUERY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        max_shrink_iters: 300,
        max_shrink_time: 20_000,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    });
    let strategy = case();
    let handle = tokio::runtime::Handle::current();
    let checked = Instant::now();
    let mut number = 0;
    while number < cases && checked.elapsed() < budget {
        number += 1;
        let tree = strategy.new_tree(&mut runner).expect("a case");
        let outcome = tokio::task::block_in_place(|| {
            runner.run_one(tree, |case| {
                handle
                    .block_on(check_case(&truth, &sessions, &case))
                    .map_err(TestCaseError::fail)
            })
        });
        match outcome {
            Ok(_) => {}
            Err(TestError::Fail(why, minimal)) => panic!(
                "query language case #{number} failed on {} (PLANTRACK_QUERY_SEED={seed}):\n{why}\n\
                 shrunk to filter {}\norderBy {}\ngroupBy {:?}",
                app.backend,
                minimal.filter_json(),
                Value::Array(minimal.order.iter().map(Sort::json).collect()),
                minimal.group_by
            ),
            Err(TestError::Abort(why)) => panic!("aborted: {why}"),
        }
    }
    say(&format!(
        "NOTE: query language ({}): {number} cases × 3 roles in {:.1} s (seed {seed}); {:.1} s in all",
        app.backend,
        checked.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    ));
}

// ---------------------------------------------------------------------------------------
// 3. Isolation with random filters, for more roles.

async fn aggregates_never_count_another_agencys_draft(app: TestApp) {
    build(&app).await;
    let truth = truth(&app).await;
    let mut sessions = Vec::new();
    for user in ["anlao", "tttt", "tayson-viewer", "admin"] {
        sessions.push(Session {
            caller: truth.callers[user].clone(),
            client: app.client(user).await,
        });
    }
    let seed = rand::random::<u64>();
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    });
    let strategy = proptest::option::of(filter());
    for _ in 0..15 {
        let filter = strategy.new_tree(&mut runner).unwrap().current();
        if filter.as_ref().is_some_and(|f| f.depth() > 8) {
            continue;
        }
        let f = filter.as_ref().map_or(Value::Null, Obj::json);
        for session in &sessions {
            let reply = session
                .client
                .graphql(AGGREGATE, json!({ "f": f, "g": ["AGENCY", "STATUS"] }))
                .await;
            let groups = reply.data()["submissionsAggregate"].as_array().unwrap();
            let own = truth
                .rows
                .iter()
                .find(|r| r.agency_id == session.caller.agency_id)
                .map(|r| r.agency_code.clone());
            for g in groups {
                let code = g["key"]["agency"]["code"].as_str().unwrap();
                let status = g["key"]["status"].as_str().unwrap();
                assert!(
                    status != "DRAFT" || Some(code) == own.as_deref(),
                    "seed {seed}: {} counts a draft of {code} with filter {f}",
                    session.caller.user
                );
                if !session.caller.all_non_drafts {
                    assert_eq!(
                        Some(code),
                        own.as_deref(),
                        "seed {seed}: {} counts another agency's reports with filter {f}",
                        session.caller.user
                    );
                }
            }
            let want = expected_groups(
                &truth
                    .rows
                    .iter()
                    .filter(|r| {
                        session.caller.sees(r) && filter.as_ref().is_none_or(|f| f.holds(r))
                    })
                    .collect::<Vec<_>>(),
                &["AGENCY", "STATUS"],
            );
            assert_eq!(
                actual_groups(groups, &["AGENCY", "STATUS"]),
                want,
                "seed {seed}: {} with filter {f}",
                session.caller.user
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. The three analyst questions, each one query.

async fn three_analyst_questions(app: TestApp) {
    build(&app).await;
    let truth = truth(&app).await;
    let analyst = &truth.callers["analyst"];
    let seen: Vec<&Row> = truth.rows.iter().filter(|r| analyst.sees(r)).collect();

    // "Which districts have not submitted for 2025?"
    let reply = app
        .graphql(
            "{ obligationsAggregate(
                 filter: { period: { code: { equalTo: \"2025\" } },
                           state: { in: [MISSING, DRAFT, RETURNED] },
                           agency: { kind: { equalTo: DISTRICT } } },
                 groupBy: [AGENCY]) {
                 key { agency { code kind } } count byStatus { missing draft returned submitted accepted } } }",
            json!({}),
        )
        .await;
    let groups = reply.data()["obligationsAggregate"].as_array().unwrap();
    assert!(!groups.is_empty());
    let mut by_agency = HashMap::new();
    for g in groups {
        assert_eq!(g["key"]["agency"]["kind"], "DISTRICT", "{g}");
        assert_eq!(
            g["byStatus"]["draft"], 0,
            "the analyst never sees a draft: {g}"
        );
        assert_eq!(g["byStatus"]["submitted"], 0, "{g}");
        assert_eq!(g["byStatus"]["accepted"], 0, "{g}");
        by_agency.insert(
            g["key"]["agency"]["code"].as_str().unwrap().to_owned(),
            g["count"].as_i64().unwrap(),
        );
    }
    // Tây Sơn leads six tasks; what it submitted or had accepted for 2025 is not missing.
    let came_in = |code: &str| {
        seen.iter()
            .filter(|r| {
                r.agency_code == code
                    && r.period_code == "2025"
                    && (r.status == "SUBMITTED" || r.status == "ACCEPTED")
                    && LEADS_OF_TAY_SON.contains(&(r.numeral.as_str(), r.task_number))
            })
            .count() as i64
    };
    assert_eq!(
        by_agency.get("ubnd-tay-son"),
        Some(&(6 - came_in("ubnd-tay-son"))),
        "{groups:?}"
    );
    // The same question as a list.
    let reply = app
        .graphql(
            "{ obligations(first: 100,
                 filter: { period: { code: { equalTo: \"2025\" } },
                           state: { in: [MISSING, DRAFT, RETURNED] },
                           agency: { kind: { equalTo: DISTRICT } } },
                 orderBy: [{ field: AGENCY_CODE }]) {
                 totalCount nodes { agency { code kind } state } } }",
            json!({}),
        )
        .await;
    let list = &reply.data()["obligations"];
    assert_eq!(
        list["totalCount"].as_i64().unwrap(),
        by_agency.values().sum::<i64>()
    );
    for node in list["nodes"].as_array().unwrap() {
        assert_eq!(node["agency"]["kind"], "DISTRICT");
        assert_ne!(node["state"], "DRAFT", "an analyst sees a draft as MISSING");
    }

    // "Which reports have deliverables not completed?"
    let reply = app
        .graphql(
            "{ submissions(first: 100, filter: { deliverables: { some: { status: { notEqualTo: COMPLETED } } } }) {
                 totalCount nodes { id } } }",
            json!({}),
        )
        .await;
    let got: BTreeSet<i64> = reply.data()["submissions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| row_id(n["id"].as_str().unwrap()))
        .collect();
    let want: BTreeSet<i64> = seen
        .iter()
        .filter(|r| r.evidence.iter().any(|e| e.status != "COMPLETED"))
        .map(|r| r.id)
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    // …and which tasks they are.
    let reply = app
        .graphql(
            "{ tasks(first: 100, filter: { submissions: { some: { deliverables: { some: { status: { notEqualTo: COMPLETED } } } } } }) {
                 nodes { id } } }",
            json!({}),
        )
        .await;
    let tasks: BTreeSet<i64> = reply.data()["tasks"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let text =
                String::from_utf8(URL_SAFE_NO_PAD.decode(n["id"].as_str().unwrap()).unwrap())
                    .unwrap();
            text.split_once(':').unwrap().1.parse().unwrap()
        })
        .collect();
    let want_tasks: BTreeSet<i64> = seen
        .iter()
        .filter(|r| r.evidence.iter().any(|e| e.status != "COMPLETED"))
        .map(|r| r.task_id)
        .collect();
    assert_eq!(tasks, want_tasks);

    // "Which reports mention kinh phí?"
    let reply = app
        .graphql(
            "{ submissions(first: 100, filter: { search: \"kinh phi\" }) { nodes { id summary } } }",
            json!({}),
        )
        .await;
    let got: BTreeSet<i64> = reply.data()["submissions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| row_id(n["id"].as_str().unwrap()))
        .collect();
    let want: BTreeSet<i64> = seen
        .iter()
        .filter(|r| searches(r, "kinh phi"))
        .map(|r| r.id)
        .collect();
    assert_eq!(got, want);
    assert!(
        seen.iter()
            .any(|r| got.contains(&r.id) && r.texts[0].contains("Kinh phí")),
        "a summary with “Kinh phí” is found"
    );
    assert!(
        seen.iter().any(|r| got.contains(&r.id)
            && !r.texts.iter().any(|t| fold(t).contains("kinh phi"))
            && r.evidence.iter().any(|e| e
                .document_ref
                .as_deref()
                .is_some_and(|d| d.contains("kinh phí")))),
        "a report whose only mention is in an evidence reference is found"
    );
}

/// Tây Sơn's lead tasks (see analysis.rs).
const LEADS_OF_TAY_SON: [(&str, Option<i64>); 6] = [
    ("I", Some(1)),
    ("I", Some(2)),
    ("II", Some(1)),
    ("II", Some(2)),
    ("III", Some(4)),
    ("III", Some(9)),
];

// ---------------------------------------------------------------------------------------
// 4. Cursors of another order, long lists, deep filters.

async fn refusals(app: TestApp) {
    build(&app).await;
    let page = |order: Value, after: Option<String>| {
        let app = &app;
        async move {
            app.graphql(PAGE, json!({ "f": null, "o": order, "a": after }))
                .await
        }
    };
    let first = page(json!([{ "field": "STATUS" }]), None).await;
    let cursor = first.data()["submissions"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        page(json!([{ "field": "STATUS" }]), Some(cursor.clone()))
            .await
            .body
            .get("errors")
            .is_none()
    );
    // A key of another type.
    let other = page(json!([{ "field": "SUBMITTED_AT" }]), Some(cursor.clone())).await;
    assert_eq!(
        other.error_code(),
        Some("BAD_USER_INPUT"),
        "STATUS cursor with SUBMITTED_AT: {}",
        other.body
    );
    let other = page(
        json!([{ "field": "STATUS" }, { "field": "ON_TIME" }]),
        Some(cursor.clone()),
    )
    .await;
    assert_eq!(
        other.error_code(),
        Some("BAD_USER_INPUT"),
        "STATUS cursor with STATUS, ON_TIME: {}",
        other.body
    );
    // More than 100 values in an `in` list.
    let many: Vec<&str> = std::iter::repeat_n("SUBMITTED", 101).collect();
    for f in [
        json!({ "status": { "in": many } }),
        json!({ "status": { "notIn": many } }),
        json!({ "agency": { "code": { "in": (0..101).map(|i| format!("a{i}")).collect::<Vec<_>>() } } }),
    ] {
        let reply = app.graphql(PAGE, json!({ "f": f })).await;
        assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"), "{}", reply.body);
        let reply = app.graphql(AGGREGATE, json!({ "f": f, "g": [] })).await;
        assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"), "{}", reply.body);
    }
    let hundred: Vec<&str> = std::iter::repeat_n("SUBMITTED", 100).collect();
    app.graphql(PAGE, json!({ "f": { "status": { "in": hundred } } }))
        .await
        .data();

    // Nesting: each `and` level is one more; eight levels pass, nine do not.
    let nested = |levels: usize| {
        let mut f = json!({ "status": { "equalTo": "SUBMITTED" } });
        for _ in 1..levels {
            f = json!({ "and": [f] });
        }
        f
    };
    app.graphql(PAGE, json!({ "f": nested(8) })).await.data();
    for (query, f) in [
        (PAGE, nested(9)),
        (AGGREGATE, nested(9)),
        (PAGE, nested(20)),
        (
            PAGE,
            json!({ "not": { "not": { "not": { "not": { "not": { "status": { "equalTo": "DRAFT" } } } } } } }),
        ),
    ] {
        let reply = app.graphql(query, json!({ "f": f, "g": [] })).await;
        assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"), "{}", reply.body);
    }
    // Obligations take the same limit.
    let mut f = json!({ "state": { "equalTo": "MISSING" } });
    for _ in 1..9 {
        f = json!({ "and": [f] });
    }
    let reply = app
        .graphql(
            "query($f: ObligationFilter) { obligations(filter: $f) { totalCount } }",
            json!({ "f": f }),
        )
        .await;
    assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"), "{}", reply.body);
    let reply = app
        .graphql(
            "query($f: ObligationFilter) { obligationsAggregate(filter: $f) { count } }",
            json!({ "f": f }),
        )
        .await;
    assert_eq!(reply.error_code(), Some("BAD_USER_INPUT"), "{}", reply.body);
    // A key of the same type but another field: the cursor's order digest tells them
    // apart, so a STATUS cursor never passes for an AGENCY_CODE one.
    let other = page(json!([{ "field": "AGENCY_CODE" }]), Some(cursor.clone())).await;
    assert_eq!(
        other.error_code(),
        Some("BAD_USER_INPUT"),
        "STATUS cursor with AGENCY_CODE: {}",
        other.body
    );
}

on_both_databases!(
    differential,
    three_analyst_questions,
    aggregates_never_count_another_agencys_draft,
    refusals,
);
