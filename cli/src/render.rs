//! Everything the user reads: diagnostics (through miette), the plan diff, the state table. Colour goes
//! through anstream, which strips it when the output is not a terminal, NO_COLOR is set, or --color
//! never; every rendering reads correctly without colour.

use crate::ColorWhen;
use anstyle::{AnsiColor, Style};
use netplan_engine::diag::{Diagnostics, Severity};
use netplan_engine::plan::{Action, AttrChange, Change, DriftKind, Plan};
use netplan_engine::Value;
use std::fmt::Write;

pub fn init_color(when: ColorWhen) {
    let choice = match when {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

fn stderr_colored() -> bool {
    !matches!(
        anstream::AutoStream::choice(&std::io::stderr()),
        anstream::ColorChoice::Never
    )
}

pub const GREEN: Style = AnsiColor::Green.on_default();
pub const YELLOW: Style = AnsiColor::Yellow.on_default();
pub const RED: Style = AnsiColor::Red.on_default();
pub const CYAN: Style = AnsiColor::Cyan.on_default();
pub const BOLD: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();

pub fn paint(style: Style, text: &str) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

pub fn error(message: &str, hint: Option<&str>) {
    anstream::eprintln!("{} {message}", paint(RED.bold(), "error:"));
    if let Some(h) = hint {
        anstream::eprintln!("  {} {h}", paint(CYAN, "hint:"));
    }
}

/// Renders each diagnostic with its source snippet, then a count.
pub fn diagnostics(diags: &Diagnostics) {
    let theme = if stderr_colored() {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(110)
        .with_context_lines(1);
    for d in &diags.0 {
        let mut md =
            miette::MietteDiagnostic::new(d.message.clone()).with_severity(match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
                Severity::Info => miette::Severity::Advice,
            });
        let help = d.help();
        if let Some(h) = &help {
            md = md.with_help(h.clone());
        }
        let mut out = String::new();
        // A snippet of a line longer than a screen would echo it whole: the place is said instead.
        let snippet_fits = d.location.as_ref().is_some_and(|loc| {
            let (line, _) = loc.source.line_col(loc.span.start);
            loc.source.line_text(line).len() <= 400
        });
        let rendered = match &d.location {
            Some(loc) if !snippet_fits => {
                md = md.with_help(format!(
                    "at {loc}{}",
                    help.as_ref().map(|h| format!("\n{h}")).unwrap_or_default()
                ));
                let report = miette::Report::new(md);
                handler.render_report(&mut out, report.as_ref())
            }
            Some(loc) => {
                md = md.with_label(miette::LabeledSpan::new_with_span(
                    d.label.clone(),
                    loc.span.clone(),
                ));
                let report = miette::Report::new(md).with_source_code(miette::NamedSource::new(
                    loc.file.clone(),
                    loc.source.shown_text(),
                ));
                handler.render_report(&mut out, report.as_ref())
            }
            None => {
                let report = miette::Report::new(md);
                handler.render_report(&mut out, report.as_ref())
            }
        };
        if rendered.is_err() {
            out = format!("{d}\n");
        }
        anstream::eprint!("{out}");
        if d.location.is_none() {
            if let Some(r) = &d.resource {
                anstream::eprintln!("  resource: {r}");
            }
        }
    }
    let errors = diags.errors().count();
    if errors > 0 {
        anstream::eprintln!(
            "{}",
            paint(
                RED.bold(),
                &format!("{errors} error{} found", if errors == 1 { "" } else { "s" })
            )
        );
    }
}

fn action_style(a: Action) -> Style {
    match a {
        Action::Create => GREEN,
        Action::Update => YELLOW,
        Action::Replace { .. } | Action::Delete => RED,
        Action::Read | Action::Forget => CYAN,
        Action::NoOp => Style::new(),
    }
}

fn headline(c: &Change) -> String {
    let a = &c.address;
    match c.action {
        Action::Create => format!("{a} will be created"),
        Action::Update => format!("{a} will be updated in place"),
        Action::Replace { order } => format!("{a} must be replaced ({})", order.describe()),
        Action::Delete => format!("{a} will be destroyed"),
        Action::Read => format!(
            "{a} will be read (existing {})",
            c.id.as_deref().unwrap_or("?")
        ),
        Action::Forget => {
            format!("{a} will be forgotten (existing: the object itself is left as it is)")
        }
        Action::NoOp => format!("{a} is up to date"),
    }
}

/// A string long or multi-line enough to deserve a real diff.
fn long_text(v: &Option<Value>) -> Option<&str> {
    match v {
        Some(Value::Str(s)) if s.len() > 60 || s.contains('\n') => Some(s),
        _ => None,
    }
}

fn render_attr(out: &mut String, action: Action, a: &AttrChange, width: usize) {
    let name = format!("{:<width$}", a.name);
    let (sym, style) = match (&a.before, &a.after) {
        (None, Some(_)) => ("+", GREEN),
        (Some(_), None) => ("-", RED),
        _ if action == Action::Create => ("+", GREEN),
        _ => ("~", YELLOW),
    };
    let forces = if a.forces_replacement {
        format!(" {}", paint(RED, "# forces replacement"))
    } else {
        String::new()
    };
    if let (Some(b), Some(af)) = (long_text(&a.before), long_text(&a.after)) {
        let _ = writeln!(out, "      {} {name} = <<diff{forces}", paint(style, sym));
        // Terminate both sides so a last line is compared by its text, not by its newline.
        let (b, af) = (
            format!("{}\n", b.trim_end_matches('\n')),
            format!("{}\n", af.trim_end_matches('\n')),
        );
        let diff = similar::TextDiff::from_lines(&b, &af);
        for change in diff.iter_all_changes() {
            let (s, st) = match change.tag() {
                similar::ChangeTag::Delete => ("-", RED),
                similar::ChangeTag::Insert => ("+", GREEN),
                similar::ChangeTag::Equal => (" ", Style::new()),
            };
            let _ = writeln!(
                out,
                "          {} {}",
                paint(st, s),
                change.value().trim_end_matches('\n')
            );
        }
        let _ = writeln!(out, "        diff");
        return;
    }
    match (&a.before, &a.after) {
        (Some(b), Some(af)) if action != Action::Create => {
            let _ = writeln!(
                out,
                "      {} {name} = {b} -> {af}{forces}",
                paint(style, sym)
            );
        }
        (_, Some(af)) => {
            let _ = writeln!(out, "      {} {name} = {af}{forces}", paint(style, sym));
        }
        (Some(b), None) => {
            let _ = writeln!(out, "      {} {name} = {b}{forces}", paint(style, sym));
        }
        (None, None) => {}
    }
}

/// What changed outside netplan, in a few words (the map's tooltips, the Markdown plan).
pub fn drift_text(d: &netplan_engine::plan::Drift) -> String {
    match &d.kind {
        DriftKind::Deleted => "deleted outside netplan".into(),
        DriftKind::Changed { attributes } => format!("{} changed", attributes.join(", ")),
        DriftKind::NotOwned { owner } => format!("not this stack's any more: {owner}"),
    }
}

/// The human form of a plan without colours (for Markdown).
pub fn plan_plain(plan: &Plan) -> String {
    anstream::adapter::strip_str(&self::plan(plan)).to_string()
}

/// The human form of a plan.
pub fn plan(plan: &Plan) -> String {
    let mut out = String::new();
    if !plan.drift.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint(BOLD, "Changed outside netplan since the last apply:")
        );
        for d in &plan.drift {
            match &d.kind {
                DriftKind::Deleted => {
                    let _ = writeln!(out, "  {} {} was deleted", paint(RED, "-"), d.address);
                }
                DriftKind::Changed { attributes } => {
                    let _ = writeln!(
                        out,
                        "  {} {}: {} changed",
                        paint(YELLOW, "~"),
                        d.address,
                        attributes.join(", ")
                    );
                }
                DriftKind::NotOwned { owner } => {
                    let _ = writeln!(
                        out,
                        "  {} {} is not this stack's any more: {owner}",
                        paint(RED, "!"),
                        d.address
                    );
                }
            }
        }
        out.push('\n');
    }
    if !plan.has_changes() {
        out.push_str(&paint(GREEN.bold(), "No changes."));
        out.push_str(if plan.destroy {
            " The state holds nothing to destroy.\n"
        } else {
            " The cloud matches the config.\n"
        });
        if let Some(c) = plan.cost.as_ref().filter(|_| !plan.destroy) {
            if !c.after.lines.is_empty() {
                let _ = writeln!(
                    out,
                    "{} {} ({}; `netplan cost` itemises it and compares designs)",
                    paint(BOLD, "Cost:"),
                    c.after.total_text(),
                    c.after.region.as_deref().unwrap_or("no region")
                );
            }
        }
        return out;
    }
    let _ = writeln!(
        out,
        "netplan will perform these actions (stack {}):\n",
        plan.stack
    );
    for c in plan.changes.iter().filter(|c| c.action.is_change()) {
        let style = action_style(c.action);
        // A destroy's deletes need no headline, nor its reason: one line each.
        if plan.destroy && c.action == Action::Delete && c.not_owned.is_none() {
            let id = c.id.as_ref().map(|i| format!(" ({i})")).unwrap_or_default();
            let _ = writeln!(
                out,
                "{} {}{id}",
                paint(style, &format!("{:>3}", c.action.symbol())),
                c.address
            );
            continue;
        }
        let _ = writeln!(out, "  {}", paint(BOLD, &format!("# {}", headline(c))));
        for r in &c.reasons {
            let _ = writeln!(out, "  {}", paint(DIM, &format!("#   {r}")));
        }
        if let Some(owner) = &c.not_owned {
            let _ = writeln!(
                out,
                "  {}",
                paint(
                    RED,
                    &format!("#   not this stack's ({owner}): apply asks before deleting it (or --force)")
                )
            );
        }
        if c.irreversible && c.action != Action::Delete {
            let _ = writeln!(
                out,
                "  {}",
                paint(
                    DIM,
                    "#   the old object cannot be brought back by a rollback"
                )
            );
        }
        let id =
            c.id.as_ref()
                .filter(|_| !matches!(c.action, Action::Create))
                .map(|i| format!(" ({i})"))
                .unwrap_or_default();
        let sym = format!("{:>3}", c.action.symbol());
        if c.attributes.is_empty() {
            let _ = writeln!(out, "{} {}{id}\n", paint(style, &sym), c.address);
            continue;
        }
        let _ = writeln!(out, "{} {}{id} {{", paint(style, &sym), c.address);
        let width = c.attributes.iter().map(|a| a.name.len()).max().unwrap_or(0);
        for a in &c.attributes {
            render_attr(&mut out, c.action, a, width);
        }
        let _ = writeln!(out, "    }}\n");
    }
    if plan.destroy {
        out.push('\n');
    }
    out.push_str(&summary_line(plan));
    out.push('\n');
    if let Some(c) = plan
        .cost
        .as_ref()
        .filter(|c| !c.before.lines.is_empty() || !c.after.lines.is_empty())
    {
        out.push('\n');
        out.push_str(&cost(c, plan.destroy));
    }
    out
}

/// The plan's cost section: what the stack costs each month after it, itemised, and what it changes.
pub fn cost(c: &netplan_engine::plan::PlanCost, destroy: bool) -> String {
    use netplan_engine::pricing::change_text;
    let mut out = String::new();
    let shown = if destroy { &c.before } else { &c.after };
    let _ = writeln!(
        out,
        "{} ({}, list prices of {}):",
        paint(
            BOLD,
            if destroy {
                "What stops costing"
            } else {
                "Monthly cost"
            }
        ),
        shown.region.as_deref().unwrap_or("no region"),
        shown.prices_as_of
    );
    if shown.lines.is_empty() {
        out.push_str("  nothing priced by the hour\n");
    }
    out.push_str(&shown.render("  "));
    let change = change_text(c.before.monthly, c.after.monthly);
    let change = if change.starts_with('+') {
        paint(YELLOW, &change)
    } else if change.starts_with('-') {
        paint(GREEN, &change)
    } else {
        change
    };
    if destroy {
        let _ = writeln!(
            out,
            "  {} {} (after it: {})",
            paint(BOLD, "Stops costing:"),
            c.before.total_text(),
            c.after.total_text()
        );
    } else {
        let _ = writeln!(
            out,
            "  {} {} (this plan: {change})",
            paint(BOLD, "Total:"),
            c.after.total_text()
        );
    }
    out
}

pub fn summary_line(plan: &Plan) -> String {
    let s = plan.summary();
    let mut line = format!(
        "{} {} to add, {} to change, {} to destroy.",
        paint(BOLD, "Plan:"),
        paint(GREEN, &s.add.to_string()),
        paint(YELLOW, &s.change.to_string()),
        paint(RED, &s.destroy.to_string())
    );
    if s.read > 0 {
        line.push_str(&format!(" {} existing to read.", s.read));
    }
    if s.forget > 0 {
        line.push_str(&format!(" {} existing to forget.", s.forget));
    }
    line
}

/// What the plan read of the account: the zones each network uses (name and AZ ID; pinned ones said),
/// and the headroom of each quota it counted.
pub fn account(report: &netplan_engine::ops::AccountReport) -> String {
    let mut out = String::new();
    let who = report
        .principal
        .as_deref()
        .map(|p| format!(", as {p}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {}{who}",
        paint(BOLD, "Account checked:"),
        report.region
    );
    for (network, zones) in &report.placement.networks {
        let list: Vec<String> = zones
            .iter()
            .map(|(name, id, pinned)| {
                format!("{name} ({id}){}", if *pinned { ", pinned" } else { "" })
            })
            .collect();
        let _ = writeln!(out, "  zones of {network}: {}", list.join(", "));
    }
    for h in &report.headroom {
        let zone = h
            .zone
            .as_ref()
            .map(|z| format!(" in {z}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  quota {}{zone}: has {} + adds {} of {} ({})",
            h.name, h.has, h.adds, h.limit, h.source
        );
    }
    out
}

/// The expected apply time, before it runs: a range, what dominates, where the figures come from,
/// and the request rate that bounds a large run.
pub fn estimate(e: &netplan_engine::apply::estimate::Estimate, destroy: bool) -> String {
    use netplan_engine::apply::estimate::human;
    let high = e.seconds * 1.5;
    let range = if e.seconds < 0.5 {
        "under a second".to_string()
    } else if high < 10.0 {
        format!("{:.1}–{}", e.seconds, human(high))
    } else if high < 90.0 {
        format!("{}–{}", e.seconds.round(), human(high))
    } else {
        format!(
            "{}–{} min",
            ((e.seconds / 60.0).floor() as u64).max(1),
            (high / 60.0).ceil() as u64
        )
    };
    let mut out = format!(
        "{} {}{range}{}: {}",
        paint(
            BOLD,
            if destroy {
                "Expected destroy time:"
            } else {
                "Expected apply time:"
            }
        ),
        if e.seconds < 0.5 { "" } else { "≈ " },
        if (e.scale - 1.0).abs() > f64::EPSILON {
            format!(" (durations × {})", e.scale)
        } else {
            String::new()
        },
        if e.seconds < 0.5 {
            "nothing waits".to_string()
        } else {
            e.summary()
        }
    );
    if let Some(f) = e
        .floor
        .as_ref()
        .filter(|f| f.seconds > e.critical_path * 0.5)
    {
        out.push_str(&format!(
            "; bounded by the request rate: {} {} requests at {} a second after a burst of {} (≥ {})",
            f.requests,
            f.bucket,
            f.per_second,
            f.burst,
            human(f.seconds)
        ));
    }
    out.push_str(&format!(" — {}\n", paint(DIM, &e.source)));
    out
}
