//! The bad catalogs the Terraform catalog module refuses
//! (`terraform/modules/catalog/tests/corpus/`) are refused by the Rust
//! catalog too, and the good ones accepted: each file states its verdict on
//! its first line. (`flightctl`'s `catalog_agreement` test also plans them.)

use std::path::Path;

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
