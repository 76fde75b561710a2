//! The env file of a running local stack (`$FC_LOCAL_DIR/local.env`), which
//! scripts and people source to reach it: the services' endpoints and
//! credentials (scripts/services.sh's env file, as it is), the names of what
//! `provision` created, and the dispatcher's process id. The dispatcher
//! writes it once it is ready, so the file exists only while a usable stack
//! does; `scripts/local.sh stop` removes it.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::stack::Stack;

/// What the env file says besides the services' own lines.
pub struct LocalEnv<'a> {
    /// What `provision` created.
    pub stack: &'a Stack,
    /// The stack file it was read from.
    pub stack_file: &'a Path,
    /// The `flight-local` binary.
    pub binary: &'a Path,
    /// The dispatcher's process id (its process group's, under `setsid`).
    pub dispatcher_pid: u32,
}

/// A value as a shell word: single-quoted when it holds anything but
/// letters, digits and `-_./:@,+=`.
fn quoted(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@,+=".contains(c));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

impl LocalEnv<'_> {
    /// The file's text: `services` (the services' env file), then one
    /// `export NAME=value` line per value of the stack.
    pub fn render(&self, services: &str) -> String {
        let mut out = services.trim_end().to_string();
        if !out.is_empty() {
            out.push('\n');
        }
        let alarm_prefix = match self.stack.slo_alarm_prefix.as_str() {
            "" => "-",
            prefix => prefix,
        };
        let lines = [
            ("FC_BUS", self.stack.bus.clone()),
            (
                "FC_CAPTURE_TABLE",
                self.stack.capture_table.clone().unwrap_or_default(),
            ),
            ("FC_EVENT_TABLE", self.stack.event_table.clone()),
            ("FC_SLO_ALARM_PREFIX", alarm_prefix.to_string()),
            ("FC_STACK_FILE", self.stack_file.display().to_string()),
            ("FC_LOCAL_BIN", self.binary.display().to_string()),
            ("FC_DISPATCHER_PID", self.dispatcher_pid.to_string()),
        ];
        for (name, value) in lines {
            let _ = writeln!(out, "export {name}={}", quoted(&value));
        }
        out
    }

    /// Writes the file at `path` at once (a temporary file renamed), with the
    /// lines of the services' env file at `services`.
    pub fn write(&self, path: &Path, services: &Path) -> Result<()> {
        let services = std::fs::read_to_string(services).with_context(|| {
            format!(
                "cannot read the services' env file {} (is scripts/services.sh running?)",
                services.display()
            )
        })?;
        let partial = path.with_extension("env.partial");
        std::fs::write(&partial, self.render(&services))
            .with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_env_file_holds_the_services_then_the_stack_as_shell_exports() {
        let stack: Stack = serde_json::from_value(serde_json::json!({
            "bus": "flight-controller-local", "event_table": "flight-controller-local-events",
            "capture_table": "flight-controller-local-capture", "namespace": "FlightController",
            "dashboard": "d", "slo_alarm_prefix": "", "functions": [],
        }))
        .unwrap();
        let env = LocalEnv {
            stack: &stack,
            stack_file: Path::new("/tmp/my stack/stack.json"),
            binary: Path::new("/t/debug/flight-local"),
            dispatcher_pid: 42,
        };
        let text = env.render("export FC_AWS_ENDPOINT=http://127.0.0.1:5000\n");
        assert_eq!(
            text,
            "export FC_AWS_ENDPOINT=http://127.0.0.1:5000\n\
             export FC_BUS=flight-controller-local\n\
             export FC_CAPTURE_TABLE=flight-controller-local-capture\n\
             export FC_EVENT_TABLE=flight-controller-local-events\n\
             export FC_SLO_ALARM_PREFIX=-\n\
             export FC_STACK_FILE='/tmp/my stack/stack.json'\n\
             export FC_LOCAL_BIN=/t/debug/flight-local\n\
             export FC_DISPATCHER_PID=42\n"
        );
        assert_eq!(quoted("it's"), r"'it'\''s'");
    }
}
