//! Replays the fuzz corpus (`fuzz/corpus`, grown by `scripts/fuzz.sh
//! --update-corpus`) through the fuzz targets' own checks, so that every
//! input the fuzzer kept stays answered without a panic, in a normal test run.

#[path = "../../../fuzz/src/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use flight_core::Catalog;

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    files
}

/// Runs `check` on each input; a panic names the file.
fn replay(target: &str, check: impl Fn(&[u8])) -> usize {
    let files = inputs(target);
    for file in &files {
        let data = std::fs::read(file).expect("read corpus file");
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&data)));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{target}: {} fails: {message}", file.display());
        }
    }
    files.len()
}

#[test]
fn the_envelope_corpus_is_answered_without_a_panic() {
    let catalog = Arc::new(Catalog::default_catalog());
    let n = replay("envelope", |data| checks::envelope(&catalog, data));
    eprintln!("reliability: fuzz corpus: {n} envelope inputs replayed");
}

#[test]
fn the_catalog_corpus_is_answered_without_a_panic() {
    let n = replay("catalog", checks::catalog);
    eprintln!("reliability: fuzz corpus: {n} catalog inputs replayed");
}
