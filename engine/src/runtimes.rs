//! AWS Lambda's managed runtimes and their lifecycle: when each is deprecated (no more patches), when
//! creating a function with it is blocked, and when updating one is. A dated, sourced table: AWS's
//! "Lambda runtimes" page (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html, the supported and
//! deprecated runtime tables), read 2026-12; AWS moves these dates now and then — the page wins.
//!
//! `validate` refuses a function on a runtime whose creates are blocked (naming the successor), warns
//! on a deprecated one; `plan` says when an existing function's updates are blocked.

use crate::addr::ResourceAddr;
use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use serde::Serialize;

/// When the table was last read from AWS's page.
pub const AS_OF: &str = "2026-12-01";
pub const SOURCE: &str = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html";

/// One runtime: (identifier, deprecation, block function create, block function update), dates as
/// YYYY-MM-DD.
pub type Row = (&'static str, &'static str, &'static str, &'static str);

pub const LIFECYCLE: &[Row] = &[
    ("nodejs24.x", "2028-04-30", "2028-06-01", "2028-07-01"),
    ("nodejs22.x", "2027-04-30", "2027-06-01", "2027-07-01"),
    ("nodejs20.x", "2026-04-30", "2026-08-31", "2026-09-30"),
    ("nodejs18.x", "2025-09-01", "2025-10-01", "2025-11-01"),
    ("python3.14", "2029-06-30", "2029-07-31", "2029-08-31"),
    ("python3.13", "2029-06-30", "2029-07-31", "2029-08-31"),
    ("python3.12", "2028-10-31", "2028-11-30", "2029-01-10"),
    ("python3.11", "2027-06-30", "2027-07-31", "2027-08-31"),
    ("python3.10", "2026-10-31", "2026-11-30", "2027-01-15"),
    ("python3.9", "2025-12-15", "2027-02-01", "2027-03-03"),
    ("java25", "2029-06-30", "2029-07-31", "2029-08-31"),
    ("java21", "2029-06-30", "2029-07-31", "2029-08-31"),
    ("java17", "2029-06-30", "2029-07-31", "2029-08-31"),
    ("java11", "2029-06-30", "2029-07-31", "2029-08-31"),
    ("ruby3.4", "2028-03-31", "2028-04-30", "2028-05-31"),
    ("ruby3.3", "2027-03-31", "2027-04-30", "2027-05-31"),
    ("dotnet10", "2028-11-14", "2028-12-14", "2029-01-15"),
    ("dotnet8", "2026-11-10", "2026-12-10", "2027-01-11"),
    ("provided.al2023", "2029-06-30", "2029-07-31", "2029-08-31"),
    ("provided.al2", "2026-06-30", "2026-07-31", "2026-08-31"),
];

/// Every runtime identifier the table knows (what a config may name).
pub fn identifiers() -> impl Iterator<Item = &'static str> {
    LIFECYCLE.iter().map(|r| r.0)
}

/// Where a runtime stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Supported,
    Deprecated,
    /// No new function may use it (existing ones may still be updated).
    CreateBlocked,
    /// Neither new functions nor updates.
    UpdateBlocked,
}

/// A runtime's stage on `today` (YYYY-MM-DD), and the dates.
pub fn stage(runtime: &str, today: &str) -> Option<(Stage, &'static Row)> {
    let row = LIFECYCLE.iter().find(|r| r.0 == runtime)?;
    let stage = if today >= row.3 {
        Stage::UpdateBlocked
    } else if today >= row.2 {
        Stage::CreateBlocked
    } else if today >= row.1 {
        Stage::Deprecated
    } else {
        Stage::Supported
    };
    Some((stage, row))
}

/// The runtime to move to: the newest of the same language that is supported on `today`.
pub fn successor(runtime: &str, today: &str) -> Option<&'static str> {
    let family: String = runtime
        .chars()
        .take_while(|c| c.is_ascii_alphabetic() || *c == '.')
        .collect::<String>()
        .trim_end_matches('.')
        .to_string();
    let family = if runtime.starts_with("provided") {
        "provided".to_string()
    } else {
        family
    };
    LIFECYCLE
        .iter()
        .filter(|r| r.0.starts_with(&family) && r.0 != runtime)
        .filter(|r| stage(r.0, today).is_some_and(|(s, _)| s == Stage::Supported))
        // The latest deprecation; on a tie the first listed (the table lists newest first).
        .fold(None::<&Row>, |best, r| match best {
            Some(b) if b.1 >= r.1 => Some(b),
            _ => Some(r),
        })
        .map(|r| r.0)
}

/// Today, as YYYY-MM-DD (UTC). `NETPLAN_TODAY` sets it (tests of what a date brings).
pub fn today() -> String {
    if let Ok(d) = std::env::var("NETPLAN_TODAY") {
        if d.len() == 10 {
            return d;
        }
    }
    humantime::format_rfc3339(std::time::SystemTime::now()).to_string()[..10].to_string()
}

/// The runtimes of a config's functions, checked on `today`. `exists(address)` says whether the
/// function exists already (plan knows; validate does not, and judges every function as new): a new
/// function on a runtime whose creates are blocked is an error; an existing one whose updates are
/// blocked is told (its code and settings cannot change), as is a deprecated runtime.
pub fn check(config: &Config, today: &str, exists: &dyn Fn(&ResourceAddr) -> bool) -> Diagnostics {
    let mut out = Diagnostics::default();
    for f in config
        .of_kind(crate::Kind::LambdaFunction)
        .filter(|f| f.existing.is_none())
    {
        let Some(runtime) = f.str_attr("runtime") else {
            continue;
        };
        let Some((stage, row)) = stage(runtime, today) else {
            continue;
        };
        let next = successor(runtime, today);
        let instead = next
            .map(|s| format!("{s} is its supported successor"))
            .unwrap_or_else(|| "choose a supported runtime".into());
        let at = config.location_of(&f.addr, "runtime");
        let existing = exists(&f.addr);
        let mut d = match stage {
            Stage::Supported => continue,
            Stage::Deprecated => Diagnostic::warning(format!(
                "{}: {runtime} is deprecated since {} (AWS no longer patches it); creating functions with it is blocked from {}",
                f.addr, row.1, row.2
            )),
            Stage::CreateBlocked if !existing => Diagnostic::error(format!(
                "{}: AWS blocks creating functions with {runtime} since {} (deprecated {})",
                f.addr, row.2, row.1
            )),
            Stage::CreateBlocked => Diagnostic::warning(format!(
                "{}: {runtime}: new functions are blocked since {}, and updates of this one from {}",
                f.addr, row.2, row.3
            )),
            Stage::UpdateBlocked if !existing => Diagnostic::error(format!(
                "{}: AWS blocks creating functions with {runtime} since {} (and updating them since {})",
                f.addr, row.2, row.3
            )),
            Stage::UpdateBlocked => Diagnostic::warning(format!(
                "{}: AWS blocks updating functions on {runtime} since {}: this function's code and settings cannot change until its runtime does",
                f.addr, row.3
            )),
        };
        d.at(at).resource(&f.addr).hint(format!(
            "{instead} (AWS's runtime table, as of {AS_OF}: {SOURCE})"
        ));
        if let Some(next) = next {
            // Written where the config says it: the function's own table, or the [function.*]
            // it was expanded from.
            let table = f.origin.as_ref().unwrap_or(&f.addr);
            d.fix(crate::fix::Fix::set(
                table,
                "runtime",
                format!("\"{next}\""),
            ));
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schemas_runtimes_are_this_table() {
        let table: Vec<&str> = identifiers().collect();
        assert_eq!(crate::schema::RUNTIMES, table.as_slice());
    }

    #[test]
    fn stages_and_successors() {
        let today = "2026-12-02";
        assert_eq!(stage("nodejs20.x", today).unwrap().0, Stage::UpdateBlocked);
        assert_eq!(stage("nodejs18.x", today).unwrap().0, Stage::UpdateBlocked);
        assert_eq!(stage("python3.9", today).unwrap().0, Stage::Deprecated);
        assert_eq!(stage("python3.14", today).unwrap().0, Stage::Supported);
        assert_eq!(stage("dotnet8", today).unwrap().0, Stage::Deprecated);
        assert_eq!(
            stage("dotnet8", "2026-12-10").unwrap().0,
            Stage::CreateBlocked
        );
        assert_eq!(successor("nodejs20.x", today), Some("nodejs24.x"));
        assert_eq!(successor("python3.9", today), Some("python3.14"));
        assert_eq!(successor("dotnet8", today), Some("dotnet10"));
        assert_eq!(successor("provided.al2", today), Some("provided.al2023"));
        assert!(stage("cobol1", today).is_none());
    }

    #[test]
    fn the_table_is_in_order_and_dated() {
        for (id, dep, create, update) in LIFECYCLE {
            assert!(dep < create && create < update, "{id}");
            for d in [dep, create, update] {
                assert_eq!(d.len(), 10, "{id}: {d}");
            }
        }
    }
}
