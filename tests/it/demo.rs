//! The demo dataset reproduces the news figures for Kabupaten Tangerang, on both databases.
use crate::common;

use common::{TestApp, data};
use serde_json::json;

// On the demo template, which `load_if_empty` made from an empty database (and checked it said so).
backend_test!(demo demo_reproduces_the_tangerang_figures, |app: TestApp| async move {
    assert!(!jaminan::datasets::demo::load_if_empty(&app.state.db).await.unwrap(), "loads only once");
    assert_eq!(app.count_rows("worker").await, 86_000);

    let response = app
        .gql(
            r#"{ y2023: coverageStats(areaCode: "36.03", year: 2023) {
                    coveredWorkers previousYearCovered newlyCovered growthRate targetWorkers targetProgress
                    eligibleWorkers coverageRate premiumCost payoutsPaid payoutsPaidAmount payoutsPending
                    children { coveredWorkers } }
                 y2022: coverageStats(areaCode: "36.03", year: 2022) { coveredWorkers premiumCost targetWorkers }
                 banten: coverageStats(areaCode: "36", year: 2023) { coveredWorkers payoutsPaid }
                 regency(code: "36.03") { target(year: 2023) { targetWorkers eligibleWorkers budget fundingSource } } }"#,
            json!({}),
        )
        .await;
    let d = data(&response);
    let y2023 = &d["y2023"];
    assert_eq!(y2023["coveredWorkers"], 86_000);
    assert_eq!(y2023["previousYearCovered"], 50_000);
    assert_eq!(y2023["newlyCovered"], 36_000);
    assert_eq!(y2023["growthRate"], 0.72);
    assert_eq!(y2023["targetWorkers"], 100_000);
    assert_eq!(y2023["targetProgress"], 0.86);
    assert_eq!(y2023["eligibleWorkers"], 248_000);
    assert!((y2023["coverageRate"].as_f64().unwrap() - 0.3468).abs() < 1e-4);
    assert_eq!(y2023["payoutsPaid"], 25);
    assert_eq!(y2023["payoutsPaidAmount"], "1050000000");
    assert_eq!(y2023["payoutsPending"], 9);
    // 50,000 x 12 + 36,000 x 6 months at Rp16,800, less the months after the 33 deaths.
    assert_eq!(y2023["premiumCost"], "13704633600");
    let districts = y2023["children"].as_array().unwrap();
    assert_eq!(districts.len(), 29);
    let spread: i64 = districts.iter().map(|c| c["coveredWorkers"].as_i64().unwrap()).sum();
    assert_eq!(spread, 86_000, "every demo worker lives in a district of 36.03");
    assert!(districts.iter().all(|c| c["coveredWorkers"].as_i64().unwrap() > 0));

    assert_eq!(d["y2022"]["coveredWorkers"], 50_000);
    assert_eq!(d["y2022"]["premiumCost"], "10080000000");
    assert_eq!(d["y2022"]["targetWorkers"], 50_000);
    assert_eq!(d["banten"]["coveredWorkers"], 86_000);
    assert_eq!(d["banten"]["payoutsPaid"], 25);
    let target = &d["regency"]["target"];
    assert_eq!(target["budget"], "20160000000");
    assert_eq!(target["fundingSource"], "APBD_PERUBAHAN");

    // The ceremony's payouts and the later claims are readable through the API.
    let response = app
        .gql_as(
            &app.admin,
            r#"{ paid: payouts(filter: { status: PAID, regencyCode: "36.03" }) { totalCount nodes { amount paidOn paymentReference benefit } }
                 pending: payouts(filter: { status: SUBMITTED }) { totalCount }
                 overduePayouts(regencyCode: "36.03") { status } }"#,
            json!({}),
        )
        .await;
    let d = data(&response);
    assert_eq!(d["paid"]["totalCount"], 25);
    let first = &d["paid"]["nodes"][0];
    assert_eq!(
        (first["amount"].as_str(), first["paidOn"].as_str(), first["benefit"].as_str()),
        (Some("42000000"), Some("2023-06-20"), Some("DEATH"))
    );
    assert!(first["paymentReference"].as_str().unwrap().contains("20 Juni 2023"));
    assert_eq!(d["pending"]["totalCount"], 4);
    assert_eq!(d["overduePayouts"].as_array().unwrap().len(), 4);
});
