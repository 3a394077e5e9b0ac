//! Reference areas: loaded by the migrations on every database, served from memory.
use crate::common;

use common::{TestApp, data};
use serde_json::json;

backend_test!(all_areas_are_loaded, |app: TestApp| async move {
    let response = app.gql("{ provinces { code regencies { code kind districts { code } } } }", json!({})).await;
    let provinces = data(&response)["provinces"].as_array().unwrap().clone();
    assert_eq!(provinces.len(), 38);
    let regencies: Vec<_> = provinces.iter().flat_map(|p| p["regencies"].as_array().unwrap().clone()).collect();
    assert_eq!(regencies.len(), 514);
    assert_eq!(regencies.iter().filter(|r| r["kind"] == "KABUPATEN").count(), 416);
    assert_eq!(regencies.iter().filter(|r| r["kind"] == "KOTA").count(), 98);
    let districts: usize = regencies.iter().map(|r| r["districts"].as_array().unwrap().len()).sum();
    assert_eq!(districts, 7285);
});

backend_test!(regency_lookup_and_search, |app: TestApp| async move {
    let response = app
        .gql(
            r#"{ regency(code: "36.03") { code name kind province { code name } districts { code } }
                 missing: regency(code: "99.99") { code }
                 banten: regencies(provinceCode: "36") { code }
                 tangerang: regencies(search: "TANGERANG") { name }
                 province(code: "36") { name regencies { code } } }"#,
            json!({}),
        )
        .await;
    let d = data(&response);
    assert_eq!(d["regency"]["name"], "Kabupaten Tangerang");
    assert_eq!(d["regency"]["kind"], "KABUPATEN");
    assert_eq!(d["regency"]["province"]["name"], "Banten");
    assert_eq!(d["regency"]["districts"].as_array().unwrap().len(), 29);
    assert!(d["missing"].is_null());
    assert_eq!(d["banten"].as_array().unwrap().len(), 8);
    let names: Vec<&str> = d["tangerang"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Kabupaten Tangerang", "Kota Tangerang", "Kota Tangerang Selatan"]);
    assert_eq!(d["province"]["regencies"].as_array().unwrap().len(), 8);
});

backend_test!(district_knows_its_regency, |app: TestApp| async move {
    let response =
        app.gql(r#"{ regency(code: "36.71") { kind districts { code name regency { code } } } }"#, json!({})).await;
    let d = data(&response);
    assert_eq!(d["regency"]["kind"], "KOTA");
    assert_eq!(d["regency"]["districts"][0]["regency"]["code"], "36.71");
});

backend_test!(targets_of_thousands_of_regency_years_load_in_one_query, |app: TestApp| async move {
    // The target loader's batch (514 regencies a year, several years per request). Built as one OR
    // of (regency, year) pairs, the statement nested as deep as the pairs were many and the
    // statement builder's recursion overflowed the stack (seen in fuzzing).
    let set =
        "mutation { setCoverageTarget(input: { regencyCode: \"36.03\", year: 2023, targetWorkers: 100000 }) { year } }";
    data(&app.gql_as(&app.admin, set, json!({})).await);
    let pairs: Vec<(String, i32)> = app
        .state
        .areas
        .regencies(None, None)
        .iter()
        .flat_map(|r| (2018..2024).map(move |year| (r.code.clone(), year)))
        .collect();
    assert_eq!(pairs.len(), 514 * 6);
    let targets = jaminan::services::targets::get_many(&app.state, &pairs).await.unwrap();
    let found: Vec<(&str, i32, i64)> =
        targets.iter().map(|t| (t.regency_code.as_str(), t.year, t.target_workers)).collect();
    assert_eq!(found, [("36.03", 2023, 100000)]);
});
