//! The bad catalogs the Terraform catalog module refuses
//! (`terraform/modules/catalog/tests/corpus/`) are refused by the Rust
//! catalog too, and the good ones accepted: each file states its verdict on
//! its first line. (`flightctl`'s `catalog_agreement` test also plans them.)

use std::path::Path;

use flight_core::catalog::KindName;
use flight_core::Catalog;

#[test]
fn every_corpus_catalog_gets_the_verdict_its_first_line_states() {
    let corpus =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../terraform/modules/catalog/tests/corpus");
    let mut checked = 0;
    for entry in std::fs::read_dir(&corpus).expect("the corpus directory") {
        let path = entry.expect("a corpus entry").path();
        let text = std::fs::read_to_string(&path).expect("a corpus file");
        let first = text.lines().next().unwrap_or_default();
        let stated_valid = first.starts_with("# valid:");
        assert!(
            stated_valid || first.starts_with("# invalid:"),
            "{}: the first line states the verdict",
            path.display()
        );
        match Catalog::parse(&text) {
            Ok(_) => assert!(stated_valid, "{}: accepted, but {first}", path.display()),
            Err(e) => {
                assert!(!stated_valid, "{}: refused: {e}", path.display());
                assert!(
                    e.issues.iter().all(|i| i.line.is_some()),
                    "{}: every issue names its line: {e}",
                    path.display()
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} corpus files");
}

#[test]
fn the_valid_corpus_has_a_metric_of_every_kind() {
    // So that `catalog_agreement` plans every kind through the Terraform
    // module too (its statistic table has no default).
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../terraform/modules/catalog/tests/corpus/valid-every-kind.yaml");
    let catalog = Catalog::parse(&std::fs::read_to_string(path).expect("the corpus file"))
        .unwrap_or_else(|e| panic!("{e}"));
    for &kind in KindName::ALL {
        assert!(
            catalog.metrics.iter().any(|m| m.kind.name() == kind),
            "valid-every-kind.yaml has no {} metric; add one",
            kind.as_str()
        );
    }
}
