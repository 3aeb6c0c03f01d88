//! `netplan import ADDRESS ID`: read an existing object, tag it as netplan's, and record it in the state
//! under ADDRESS; the next plan shows how it differs from the config.

use crate::error::{CliError, CliResult};
use crate::session::Session;
use crate::{ConfigArg, Exit, Globals};
use netplan_engine::provider::{standard_tags, ObjectRef, ReadRequest, UpdateRequest};
use netplan_engine::state::{ResourceState, State};
use netplan_engine::value::attrs_to_json;
use netplan_engine::ResourceAddr;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The address in the config, e.g. `subnet.main_private_a`.
    pub address: String,
    /// The cloud id, e.g. `subnet-0abc…` (a role or function: its name).
    pub id: String,
}

pub async fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    let session = Session::open(g, &a.config)?;
    let config = session.config();
    let addr: ResourceAddr = a
        .address
        .parse()
        .map_err(|e| CliError::msg(format!("`{}`: {e}", a.address)))?;
    let Some(resource) = config.resources.get(&addr) else {
        return Err(CliError::with_hint(
            format!("{addr} is not in the config"),
            "declare it first (or use the address a network expands to: netplan plan lists them)",
        ));
    };
    if resource.existing.is_some() {
        return Err(CliError::with_hint(
            format!("{addr} is declared `existing`: netplan uses it without owning it"),
            "remove `existing` to let netplan manage the object, then import it",
        ));
    }
    let store = session.store()?;
    let _lock = store.lock("import")?;
    let mut state = store
        .load()?
        .unwrap_or_else(|| State::new(&config.stack.name));
    if let Some(r) = state.get(&addr) {
        return Err(CliError::msg(format!(
            "{addr} is already in the state as {}",
            r.id
        )));
    }
    let provider = session.provider().await?;
    let read = provider
        .read(ReadRequest {
            objects: vec![ObjectRef {
                address: addr.clone(),
                id: a.id.clone(),
            }],
        })
        .await?;
    let Some(object) = read.objects.into_iter().next().and_then(|(_, o)| o) else {
        return Err(CliError::msg(format!(
            "no {} with id `{}` exists",
            addr.kind, a.id
        )));
    };
    // netplan's tags make the object findable and owned; everything else is left for plan to show.
    let desired = attrs_to_json(&resource.attrs);
    let tags = standard_tags(&config.stack.name, &addr, object.attrs.get("tags"));
    let updated = provider
        .update(UpdateRequest {
            address: addr.clone(),
            id: object.id.clone(),
            before: object.attrs.clone(),
            after: object.attrs.clone(),
            changed: vec!["tags".into()],
            tags,
            code: None,
            progress: None,
        })
        .await?;
    let dependencies = resource
        .dependencies()
        .into_iter()
        .filter(|d| state.get(d).is_some())
        .collect();
    let mut attributes = updated.object.attrs;
    // Sensitive values the cloud answered in clear are kept as digests.
    netplan_engine::secrets::redact(
        &mut attributes,
        &netplan_engine::secrets::paths(&resource.attrs),
        &state.lineage,
    );
    for local in netplan_engine::schema::LOCAL_ONLY {
        if let Some(v) = desired.get(*local) {
            attributes.insert(local.to_string(), v.clone());
        }
    }
    state.upsert(ResourceState {
        address: addr.clone(),
        id: object.id.clone(),
        existing: false,
        deposed: false,
        attributes,
        dependencies,
        created_at: None,
    });
    state.serial += 1;
    store.save(&state)?;
    println!(
        "Imported {addr} ({}) into {}. Run `netplan plan` to see how it differs from the config.",
        object.id,
        store.location()
    );
    Ok(Exit::Success)
}
