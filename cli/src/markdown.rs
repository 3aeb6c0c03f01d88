//! `plan --format markdown`: the plan, its cost and `check`'s verdicts as a collapsible summary to paste
//! in a pull request — the headline visible, each part behind a `<details>`. Built from the same plan
//! data and the same text rendering as the terminal (without colours), so the two never disagree.

use netplan_engine::plan::{Action, Plan};
use netplan_engine::pricing::change_text;
use netplan_engine::reach::Verdict;
use std::fmt::Write;

/// The plan as Markdown. `verdicts`: `check`'s, for a plan that builds (none for a destroy).
pub fn plan(plan: &Plan, verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    let s = plan.summary();
    let _ = writeln!(
        out,
        "### netplan plan{} — stack `{}`\n",
        if plan.destroy { " (destroy)" } else { "" },
        escape(&plan.stack)
    );
    let mut headline = vec![if plan.has_changes() {
        format!(
            "**Plan:** {} to add, {} to change, {} to destroy",
            s.add, s.change, s.destroy
        )
    } else {
        "**No changes.** The cloud matches the config".to_string()
    }];
    if let Some(c) = &plan.cost {
        let shown = if plan.destroy { &c.before } else { &c.after };
        if !shown.lines.is_empty() || !c.before.lines.is_empty() {
            headline.push(format!(
                "**Cost:** {} ({})",
                shown.total_text(),
                change_text(c.before.monthly, c.after.monthly)
            ));
        }
    }
    let asking: Vec<&Verdict> = verdicts.iter().filter(|v| v.internet).collect();
    if !asking.is_empty() {
        let blocked = asking.iter().filter(|v| v.blocked()).count();
        headline.push(if blocked == 0 {
            format!(
                "**Check:** ✅ {} of {} function(s) reach the internet",
                asking.len(),
                asking.len()
            )
        } else {
            format!(
                "**Check:** ❌ {blocked} of {} function(s) blocked",
                asking.len()
            )
        });
    }
    let _ = writeln!(out, "{}\n", headline.join(" · "));

    if !plan.drift.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Changed outside netplan ({})</summary>\n",
            plan.drift.len()
        );
        for d in &plan.drift {
            let _ = writeln!(
                out,
                "- `{}`: {}",
                d.address,
                escape(&crate::render::drift_text(d))
            );
        }
        out.push_str("\n</details>\n\n");
    }

    let changes: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action.is_change())
        .collect();
    if !changes.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Changes ({})</summary>\n",
            changes.len()
        );
        out.push_str("| | resource | action | why |\n|---|---|---|---|\n");
        for c in &changes {
            let (mark, action) = match c.action {
                Action::Create => ("➕", "create".to_string()),
                Action::Update => ("🔧", "update in place".to_string()),
                Action::Replace { order } => ("♻️", format!("replace ({})", order.describe())),
                Action::Delete => ("➖", "destroy".to_string()),
                Action::Read => ("👁️", "read (existing)".to_string()),
                Action::Forget => ("🫥", "forget (existing, left as is)".to_string()),
                Action::NoOp => ("", "none".to_string()),
            };
            let _ = writeln!(
                out,
                "| {mark} | `{}` | {action} | {} |",
                c.address,
                escape(&c.reasons.join("; "))
            );
        }
        // The terminal's rendering, symbols moved to the first column so the diff is coloured.
        out.push_str("\n```diff\n");
        // The changes only: the cost has its own table below (and its `+ $… per GB` notes are not
        // added lines).
        for line in crate::render::plan_plain(plan)
            .lines()
            .take_while(|l| !l.starts_with("Plan:"))
        {
            let _ = writeln!(out, "{}", diff_line(line));
        }
        out.push_str("```\n\n</details>\n\n");
    }

    if let Some(c) = &plan.cost {
        let shown = if plan.destroy { &c.before } else { &c.after };
        if !shown.lines.is_empty() || !shown.per_gb.is_empty() {
            let _ = writeln!(
                out,
                "<details><summary>Monthly cost: {} ({}, list prices of {})</summary>\n",
                shown.total_text(),
                shown.region.as_deref().unwrap_or("no region"),
                shown.prices_as_of
            );
            out.push_str("| item | how | per month |\n|---|---|---|\n");
            for l in &shown.lines {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    escape(&l.what),
                    escape(&l.how),
                    l.monthly
                        .map(netplan_engine::pricing::money)
                        .unwrap_or_else(|| "price unknown".into())
                );
            }
            if shown.egress_gb_per_month.is_none() {
                for r in &shown.per_gb {
                    let _ = writeln!(
                        out,
                        "\n\\+ {} per GB {} (set `egress_gb_per_month` in `[stack]` to count it)",
                        netplan_engine::pricing::rate_text(r.per_gb),
                        escape(&r.what)
                    );
                }
            }
            for n in &shown.notes {
                let _ = writeln!(out, "\n_{}_", escape(n));
            }
            out.push_str("\n</details>\n\n");
        }
    }

    if !asking.is_empty() {
        out.push_str("<details><summary>Internet access (netplan check)</summary>\n\n");
        for v in verdicts {
            let state = if !v.internet {
                "internet = false".to_string()
            } else if v.blocked() {
                "❌ blocked".to_string()
            } else if v.ipv6_only {
                "✅ reaches the internet over IPv6 (IPv4 destinations unreachable by design)".into()
            } else {
                "✅ reaches the internet".to_string()
            };
            let _ = writeln!(out, "- **`{}`**: {state}", v.function);
            for p in &v.paths {
                let _ = writeln!(
                    out,
                    "  - {} {}: `{}`",
                    if p.reaches { "✓" } else { "✗" },
                    p.family,
                    p.hops.join(" → ")
                );
            }
            for c in netplan_engine::reach::causes(v.findings.clone()) {
                let _ = writeln!(
                    out,
                    "  - {} `{}`: {}",
                    format!("{:?}", c.level).to_lowercase(),
                    c.component,
                    escape(&c.message)
                );
                if let Some(fix) = netplan_engine::fix::hint(&c.fixes) {
                    let _ = writeln!(
                        out,
                        "\n    ```\n{}\n    ```",
                        indent(&format!("fix: {fix}"), "    ")
                    );
                }
            }
        }
        out.push_str("\n</details>\n");
    }
    out
}

/// A line of the text plan with its change symbol moved to column 0 (`diff` colours by it).
fn diff_line(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    for sym in ["-/+", "+/-", "+", "-", "~"] {
        if let Some(rest) = trimmed.strip_prefix(sym) {
            if rest.starts_with(' ') {
                let mark = if sym == "~" { "!" } else { &sym[..1] };
                return format!("{mark}{}{}", " ".repeat(indent.max(1)), rest.trim_start());
            }
        }
    }
    format!(" {line}")
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| format!("{by}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text from a config or the cloud, safe in a table cell and outside code: no HTML, no pipes, one line.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_symbols_move_to_the_first_column() {
        assert_eq!(diff_line("  + vpc.main {"), "+  vpc.main {");
        assert_eq!(
            diff_line("      + cidr = \"10.0.0.0/16\""),
            "+      cidr = \"10.0.0.0/16\""
        );
        assert_eq!(diff_line("      ~ tags = {}"), "!      tags = {}");
        assert_eq!(
            diff_line("  # vpc.main will be created"),
            "   # vpc.main will be created"
        );
    }

    #[test]
    fn cell_text_cannot_break_the_table_or_inject_html() {
        assert_eq!(escape("a|b<script>\nc"), "a\\|b&lt;script&gt; c");
    }
}
