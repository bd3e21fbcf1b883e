//! Plans as spreadsheets, through the command line: the built-in plan exported to XLSX
//! and imported into an empty database is the same plan; an appendix in CSV has its
//! agency names matched (abbreviations, diacritics, no province) to its own agencies, and
//! a misspelt name stops the import with a report, writing nothing.
use std::path::Path;

use calamine::{Data, Reader, Xlsx, open_workbook};
use serde_json::{Value, json};

use crate::{
    cli::plantrack_at,
    fixtures::PLAN,
    on_both_databases,
    support::{TestApp, add_test_users, sqlite_copy_in, sqlite_url},
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

/// Everything the API says of a plan, but ids (in parts, each within the query limits).
const PLAN_TREE: [&str; 4] = [
    "query($p: String!) { plan(code: $p) {
        code title issuedOn effectiveOn startYear endYear
        issuer { code name shortName kind isTenant }
        coordinator { code } namedCoordinator { code } recipients { code } } }",
    "query($p: String!) { plan(code: $p) { sections { numeral title part position tasks {
        number content schedule timeframeWording inferredNote position
        timeframe { code label startsOn endsOn }
        deliverables { description position inferred } } } } }",
    "query($p: String!) { plan(code: $p) { sections { tasks { assignments {
        role wording validFrom validTo
        agency { code name shortName kind isTenant }
        group { code name note expandsTo } } } } } }",
    "query($p: String!) { plan(code: $p) { code }
        agencyGroups { code name note expandsTo members { code name shortName kind isTenant } } }",
];

async fn plan_tree(app: &TestApp, code: &str) -> Vec<Value> {
    let mut parts = Vec::new();
    for query in PLAN_TREE {
        let reply = app.graphql(query, json!({ "p": code })).await;
        let data = reply.data();
        assert_ne!(data["plan"], Value::Null, "plan {code}: {}", reply.body);
        parts.push(match data.get("agencyGroups") {
            Some(groups) => groups.clone(),
            None => data["plan"].clone(),
        });
    }
    parts
}

/// Checks that the database at `url` holds no plan `code` (the export finds none).
fn assert_no_plan(url: &str, code: &str, dir: &Path) {
    let nowhere = dir.join("none.xlsx");
    let (ok, said) = plantrack_at(
        url,
        &[
            "export-plan",
            "--plan",
            code,
            "--out",
            nowhere.to_str().unwrap(),
        ],
    );
    assert!(!ok && said.contains("not found"), "{said}");
}

/// A workbook's sheets as text.
fn sheets(path: &Path) -> Vec<(String, Vec<Vec<String>>)> {
    let mut workbook: Xlsx<_> = open_workbook(path).expect("an XLSX workbook");
    workbook
        .sheet_names()
        .into_iter()
        .map(|name| {
            let range = workbook.worksheet_range(&name).expect("a sheet");
            let rows = range
                .rows()
                .map(|row| {
                    row.iter()
                        .map(|cell| match cell {
                            Data::String(s) => s.clone(),
                            Data::Empty => String::new(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .collect();
            (name, rows)
        })
        .collect()
}

async fn the_built_in_plan_survives_an_xlsx_round_trip(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let exported = dir.path().join("768.xlsx");
    let exported_path = exported.to_str().unwrap();
    let (ok, said) = plantrack_at(
        app.owner_url(),
        &["export-plan", "--plan", PLAN, "--out", exported_path],
    );
    assert!(ok, "{said}");
    assert!(said.contains("(23 tasks)"), "{said}");
    let workbook = sheets(&exported);
    let (name, appendix) = &workbook[0];
    assert_eq!(name, "Phụ lục");
    assert_eq!(
        appendix[0][..7],
        [
            "Mục",
            "STT",
            "Nội dung",
            "Cơ quan chủ trì",
            "Cơ quan phối hợp",
            "Sản phẩm",
            "Thời gian"
        ]
    );

    let (url, owner_url) = app.empty_database(dir.path()).await;
    // A dry run works the whole import out and writes nothing.
    let (ok, said) = plantrack_at(&owner_url, &["import-plan", exported_path, "--dry-run"]);
    assert!(ok, "{said}");
    assert!(
        said.contains("dry run, nothing written: plan loaded;") && said.contains("23 tasks"),
        "{said}"
    );
    assert_no_plan(&owner_url, PLAN, dir.path());

    let (ok, said) = plantrack_at(&owner_url, &["import-plan", exported_path]);
    assert!(ok, "{said}");
    let owner = plantrack::db::connect(&owner_url, 1).await.unwrap();
    add_test_users(&owner).await;
    owner.close().await.unwrap();
    let imported = TestApp::at(&url).await;
    assert_eq!(
        plan_tree(&imported, PLAN).await,
        plan_tree(&app, PLAN).await
    );

    // And the imported plan exports to the same workbook.
    let again = dir.path().join("again.xlsx");
    let (ok, said) = plantrack_at(
        &owner_url,
        &[
            "export-plan",
            "--plan",
            PLAN,
            "--out",
            again.to_str().unwrap(),
        ],
    );
    assert!(ok, "{said}");
    assert_eq!(sheets(&again), workbook);
}

on_both_databases!(the_built_in_plan_survives_an_xlsx_round_trip);

/// Another province's plan, which shares 768's codes and periods, makes the same round
/// trip into a database of its own: its jurisdiction and its horizon travel with it.
async fn a_second_province_survives_an_xlsx_round_trip(app: TestApp) {
    const SECOND: &str = "99/KH-TN";
    let dir = tempfile::tempdir().unwrap();
    let owner = app.owner_db().await;
    plantrack::service::seed::import(
        &owner,
        include_str!("../data/plan-second-province.toml"),
        false,
    )
    .await
    .expect("the second plan");
    let exported = dir.path().join("second.xlsx");
    let (ok, said) = plantrack_at(
        app.owner_url(),
        &[
            "export-plan",
            "--plan",
            SECOND,
            "--out",
            exported.to_str().unwrap(),
        ],
    );
    assert!(ok, "{said}");
    let (url, owner_url) = app.empty_database(dir.path()).await;
    let (ok, said) = plantrack_at(&owner_url, &["import-plan", exported.to_str().unwrap()]);
    assert!(ok, "{said}");
    let owner = plantrack::db::connect(&owner_url, 1).await.unwrap();
    // The database holds this province alone: its analyst belongs to its People's Committee.
    plantrack::service::auth::create_user(
        &owner,
        None,
        plantrack::service::auth::NewUser {
            username: "analyst".into(),
            display_name: None,
            agency_code: "ubnd-tinh".into(),
            role: plantrack::service::domain::Role::Analyst,
            password: crate::support::PASSWORD.into(),
        },
    )
    .await
    .expect("the analyst");
    owner.close().await.unwrap();
    let imported = TestApp::at(&url).await;
    // The plan, its sections, tasks and assignments (the groups' list is the database's).
    assert_eq!(
        plan_tree(&imported, SECOND).await[..3],
        plan_tree(&app, SECOND).await[..3]
    );
    let jurisdiction = imported
        .graphql(
            "query($p: String!) { plan(code: $p) { jurisdiction coordinator { code jurisdiction } } }",
            json!({ "p": SECOND }),
        )
        .await;
    assert_eq!(
        jurisdiction.data()["plan"],
        json!({ "jurisdiction": "thu-nghiem", "coordinator": { "code": "so-nnmt", "jurisdiction": "thu-nghiem" } })
    );
}

on_both_databases!(a_second_province_survives_an_xlsx_round_trip);

/// The example appendix (CSV) with its head: names are matched to the plan's own agencies
/// whatever the spelling, never to the built-in plan's agencies of the same name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appendix_in_csv_matches_its_names_and_stops_on_a_misspelt_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_copy_in(dir.path()).await;
    let url = sqlite_url(&db);
    let head = format!("{DATA}/plan-example-head.toml");
    let appendix = format!("{DATA}/plan-example-appendix.csv");
    let code = "12/KH-VD";

    let misspelt = dir.path().join("misspelt.csv");
    std::fs::write(
        &misspelt,
        std::fs::read_to_string(&appendix)
            .unwrap()
            .replace(",Sở Tài chính,", ",Sở Tài chín,")
            .replace("Hằng năm\n", "Hằng quý\n"),
    )
    .unwrap();
    let (ok, said) = plantrack_at(
        &url,
        &["import-plan", misspelt.to_str().unwrap(), "--head", &head],
    );
    assert!(!ok);
    assert!(said.contains("nothing was written"), "{said}");
    assert!(
        said.contains(
            "row 6, Cơ quan chủ trì: «Sở Tài chín» matches no agency or group; did you mean «Sở Tài chính tỉnh Ví Dụ»?"
        ),
        "{said}"
    );
    assert!(
        said.contains("row 6, Thời gian: «Hằng quý» is neither"),
        "{said}"
    );
    assert_no_plan(&url, code, dir.path());

    // A group code of the built-in plan, in its jurisdiction but with another province's
    // members, is not shared.
    let borrowed = dir.path().join("borrowed.toml");
    std::fs::write(
        &borrowed,
        std::fs::read_to_string(&head)
            .unwrap()
            .replace("\"vd-cac-so\"", "\"cac-so-nganh\"")
            .replace("jurisdiction = \"vi-du\"", "jurisdiction = \"binh-dinh\""),
    )
    .unwrap();
    let (ok, said) = plantrack_at(
        &url,
        &[
            "import-plan",
            &appendix,
            "--head",
            borrowed.to_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(
        said.contains(
            "group code `cac-so-nganh` is taken: the group «Các sở, ngành» has other members"
        ),
        "{said}"
    );

    // A dry run on a database that does not exist creates nothing.
    let nowhere = dir.path().join("nowhere.db");
    let (ok, said) = plantrack_at(
        &sqlite_url(&nowhere),
        &["import-plan", &appendix, "--head", &head, "--dry-run"],
    );
    assert!(!ok && said.contains("a dry run creates nothing"), "{said}");
    assert!(!nowhere.exists());

    // A CSV file has no head of its own.
    let (ok, said) = plantrack_at(&url, &["import-plan", &appendix]);
    assert!(!ok && said.contains("--head"), "{said}");

    let (ok, said) = plantrack_at(
        &url,
        &["import-plan", &appendix, "--head", &head, "--dry-run"],
    );
    assert!(ok, "{said}");
    assert!(
        said.contains("dry run, nothing written: plan loaded; added 7 agencies, 2 groups"),
        "{said}"
    );
    // Names not written as the plan writes them are shown for a check.
    assert!(said.contains("«Sở NN&MT» → agency vd-so-nnmt"), "{said}");
    assert!(
        said.contains("«So Nong nghiep va Moi truong» → agency vd-so-nnmt"),
        "{said}"
    );
    let (ok, said) = plantrack_at(&url, &["import-plan", &appendix, "--head", &head]);
    assert!(ok, "{said}");
    // Loading it again writes nothing, and says so.
    let (ok, said) = plantrack_at(&url, &["import-plan", &appendix, "--head", &head]);
    assert!(ok, "{said}");
    assert!(
        said.contains("plan already present: left as it is, nothing of the file written"),
        "{said}"
    );

    let app = TestApp::at(&url).await;
    let tree = plan_tree(&app, code).await;
    assert_eq!(tree[0]["coordinator"]["code"], "vd-so-nnmt");
    // The parts' tasks, side by side.
    let task = |s: usize, t: usize| {
        let mut task = tree[1]["sections"][s]["tasks"][t].clone();
        task["assignments"] = tree[2]["sections"][s]["tasks"][t]["assignments"].clone();
        task
    };
    assert_eq!(
        task(0, 0)["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (&a["role"], &a["wording"]))
            .collect::<Vec<_>>(),
        [
            (&json!("LEAD"), &json!("UBND các xã, phường")),
            (&json!("PARTNER"), &json!("Sở NN&MT"))
        ]
    );
    let communes = tree[3]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["code"] == "vd-cac-xa")
        .expect("the communes' group");
    let members: Vec<&str> = communes["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["vd-xa-bac", "vd-xa-nam"]);
    assert_eq!(
        task(0, 0)["deliverables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["description"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["Tài liệu tuyên truyền", "Hội nghị triển khai"]
    );
    // A comma inside a name, and two names in one cell.
    let codes = |t: Value| -> Vec<String> {
        t["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let of = if a["agency"].is_null() {
                    &a["group"]
                } else {
                    &a["agency"]
                };
                format!(
                    "{} {}",
                    a["role"].as_str().unwrap(),
                    of["code"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        codes(task(0, 1)),
        [
            "LEAD vd-so-vhttdl",
            "PARTNER vd-so-nnmt",
            "PARTNER vd-cac-xa"
        ]
    );
    assert_eq!(task(0, 1)["schedule"], "PHASED");
    assert_eq!(task(0, 1)["timeframe"][0]["code"], "2026-2030");
    // "Sở Tài chính" is this province's, not Bình Định's `so-tai-chinh`.
    assert_eq!(
        codes(task(1, 0)),
        [
            "LEAD vd-so-tai-chinh",
            "PARTNER vd-so-nnmt",
            "PARTNER vd-cac-so"
        ]
    );
}
