//! `netplan rekey`: write the state again, now, encrypted with the first key `[stack] encryption`
//! names — the step that completes a key rotation (or encrypts a state that was plain).

use crate::error::{CliError, CliResult};
use crate::session::Session;
use crate::{ConfigArg, Exit, Globals};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
}

pub fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    let session = Session::open(g, &a.config)?;
    let Some(key) = session.config().stack.encryption.clone() else {
        return Err(CliError::with_hint(
            "the config sets no [stack] encryption: there is no key to write the state with",
            "add encryption = \"env:NETPLAN_STATE_KEY\" (or \"kms:alias/…\") to [stack]",
        ));
    };
    let store = session.store()?;
    let _lock = store.lock("rekey")?;
    let Some(mut state) = store.load()? else {
        return Err(CliError::msg(format!(
            "{} holds no state yet: nothing to re-encrypt",
            store.location()
        )));
    };
    state.serial += 1;
    store.save(&state)?;
    println!(
        "Re-encrypted {} with {key} (serial {}).",
        store.location(),
        state.serial
    );
    Ok(Exit::Success)
}
