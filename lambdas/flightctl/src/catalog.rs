//! Where every verb gets its catalog: a YAML file given with `--catalog`, or
//! the one built into flightctl (events/catalog.yaml). The one home of
//! catalog loading in flightctl.

use std::path::Path;

use anyhow::{Context, Result};
use flight_core::catalog::{Catalog, DEFAULT_CATALOG_NAME, DEFAULT_CATALOG_YAML};

/// The catalog's text and the name to report it under.
pub fn source(path: Option<&Path>) -> Result<(String, String)> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the catalog {}", path.display()))?;
            Ok((path.display().to_string(), text))
        }
        None => Ok((
            DEFAULT_CATALOG_NAME.to_string(),
            DEFAULT_CATALOG_YAML.to_string(),
        )),
    }
}

/// The catalog at `path` (or the built-in one) and the name it is reported
/// under; the error lists its problems and says how to check them.
pub fn load(path: Option<&Path>) -> Result<(String, Catalog)> {
    let (name, text) = source(path)?;
    let catalog = Catalog::parse(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}\n{name}: {} problem(s); fix them, then run `flightctl validate --catalog {name}`",
            e.render_for(&name),
            e.issues.len()
        )
    })?;
    Ok((name, catalog))
}
