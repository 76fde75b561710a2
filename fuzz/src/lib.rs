//! The fuzz targets' checks (shared with the corpus replay test).

pub mod checks;

use std::sync::{Arc, OnceLock};

use flight_core::Catalog;

/// The default catalog, parsed once.
pub fn catalog() -> &'static Arc<Catalog> {
    static CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();
    CATALOG.get_or_init(|| Arc::new(Catalog::default_catalog()))
}
