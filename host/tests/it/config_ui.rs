//! Invalid plugins.toml files (`tests/ui/*.toml`) and the exact error text
//! each must produce (`tests/ui/*.err`; `SLUICE_BLESS=1` rewrites them).

use std::path::Path;

use crate::support::{golden, test_file};

#[test]
fn invalid_configs_report_every_problem_with_its_location() {
    let dir = test_file("ui");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/ui")
        .flatten()
        .map(|e| e.path())
        .collect();
    cases.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    cases.sort();
    assert!(cases.len() >= 4, "ui cases: {cases:?}");
    for case in cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_string();
        let text = std::fs::read_to_string(&case).expect("read case");
        // Relative path so the expected text does not depend on the checkout.
        let shown = Path::new("tests/ui").join(&name);
        let err =
            sluice::config::compile(&shown, &text).expect_err(&format!("{name} must be invalid"));
        golden(
            &format!("{err}\n"),
            &format!("ui/{}", name.replace(".toml", ".err")),
        );
    }
}
