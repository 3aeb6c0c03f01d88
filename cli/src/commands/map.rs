//! `netplan map [-c FILE] [--live] [-o FILE]`: the network as one self-contained HTML page, laid out like
//! the console's VPC resource map, with `check`'s verdicts and the monthly cost drawn on it.

use crate::error::{CliError, CliResult};
use crate::map::{self, Status};
use crate::session::Session;
use crate::{ConfigArg, Exit, Globals};
use netplan_engine::ops::{self, PrepareOptions};
use netplan_engine::plan::Action;
use netplan_engine::reach;
use netplan_engine::state::State;
use netplan_engine::{Kind, ResourceAddr};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Draw what exists in the account (refreshed, drift marked, what the config lacks found) instead
    /// of what the config builds.
    #[arg(long)]
    pub live: bool,
    /// Where to write the page ("-" for standard output).
    #[arg(
        short = 'o',
        long = "out",
        value_name = "FILE",
        default_value = "netplan-map.html"
    )]
    pub out: PathBuf,
}

pub async fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    let session = Session::open(g, &a.config)?;
    let config = session.config();
    let store = session.store()?;
    let mut status: BTreeMap<ResourceAddr, Status> = BTreeMap::new();
    let (model, state, verdicts) = if a.live {
        let provider = session.provider().await?;
        let prepared = ops::prepare(
            config,
            provider.as_ref(),
            store.as_ref(),
            PrepareOptions {
                refresh: true,
                destroy: false,
                settle: false,
            },
        )
        .await?;
        for c in &prepared.plan.changes {
            let s = match c.action {
                Action::Create => Status::Planned,
                Action::Update | Action::Replace { .. } => {
                    Status::Changes(if c.reasons.is_empty() {
                        c.attributes
                            .iter()
                            .map(|a| a.name.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    } else {
                        c.reasons.join("; ")
                    })
                }
                _ => continue,
            };
            status.insert(c.address.clone(), s);
        }
        for d in &prepared.plan.drift {
            status.insert(
                d.address.clone(),
                Status::Drift(crate::render::drift_text(d)),
            );
        }
        let state = prepared.working;
        let found = provider
            .discover(netplan_engine::live::discover_request(config, &state))
            .await?;
        let model = netplan_engine::live::overlay(config, &state, &found);
        for r in model.resources.values() {
            if r.attrs.contains_key("discovered") {
                status.insert(r.addr.clone(), Status::Discovered);
            }
        }
        let verdicts = reach::check(&model);
        (model, state, verdicts)
    } else {
        let state = store
            .load()?
            .unwrap_or_else(|| State::new(&config.stack.name));
        (config.clone(), state, reach::check(config))
    };
    let mut ids = BTreeMap::new();
    let mut public_ips = BTreeMap::new();
    for r in state.resources.iter().filter(|r| !r.deposed) {
        ids.insert(r.address.clone(), r.id.clone());
        if let Some(ip) = r.attributes.get("public_ip").and_then(|v| v.as_str()) {
            public_ips.insert(r.address.clone(), ip.to_string());
        }
    }
    for r in model.resources.values() {
        if let Some(id) = r.str_attr("id").or(r.existing.as_deref()) {
            ids.entry(r.addr.clone()).or_insert_with(|| id.to_string());
        }
        if r.existing.is_some() {
            status.entry(r.addr.clone()).or_insert(Status::Used);
        }
        if ids.contains_key(&r.addr) {
            status.entry(r.addr.clone()).or_insert(Status::Exists);
        }
    }
    // The monthly cost of each priced component (what it builds; `existing` is someone else's bill).
    let region = model.region.clone();
    let mut cost = BTreeMap::new();
    for r in model.resources.values().filter(|r| r.existing.is_none()) {
        let c = netplan_engine::pricing::cost(
            region.as_deref(),
            &[netplan_engine::pricing::priced(r)],
            None,
        );
        if let Some(m) = c.monthly.filter(|m| *m > 0.0 && !c.lines.is_empty()) {
            cost.insert(r.addr.clone(), m);
        }
    }
    let input = map::Input {
        title: format!(
            "netplan map — stack {}{}",
            config.stack.name,
            region.map(|r| format!(" ({r})")).unwrap_or_default()
        ),
        config: &model,
        ids,
        public_ips,
        status,
        verdicts: &verdicts,
        cost,
        live: a.live,
    };
    let html = map::render(&input);
    let blocked = verdicts
        .iter()
        .filter(|v| v.internet && v.blocked())
        .count();
    if a.out.as_os_str() == "-" {
        print!("{html}");
    } else {
        netplan_engine::files::write_atomically(&a.out, html.as_bytes())
            .map_err(|e| CliError::msg(format!("cannot write {}: {e}", a.out.display())))?;
        let functions = verdicts.iter().filter(|v| v.internet).count();
        eprintln!(
            "wrote {} ({} resources{}; {}): open it in a browser",
            a.out.display(),
            model
                .resources
                .values()
                .filter(|r| !matches!(r.addr.kind, Kind::Network | Kind::Function))
                .count(),
            if a.live { ", live" } else { "" },
            if functions == 0 {
                "no function asks for internet access".to_string()
            } else if blocked == 0 {
                format!("{functions} function(s) reach the internet")
            } else {
                format!("{blocked} of {functions} function(s) blocked")
            }
        );
    }
    Ok(Exit::Success)
}
