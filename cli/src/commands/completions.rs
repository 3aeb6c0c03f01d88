//! `netplan completions SHELL` and `netplan man`: shell completions (clap_complete) and manual pages
//! (clap_mangen), both generated from the same clap definitions as the commands themselves.

use crate::error::{CliError, CliResult};
use crate::{Cli, Exit};
use clap::CommandFactory;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// Write netplan.1 and one page per command (netplan-plan.1, …) into this folder instead of
    /// printing netplan.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn completions(a: CompletionsArgs) -> CliResult<Exit> {
    let mut cmd = Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "netplan", &mut std::io::stdout());
    Ok(Exit::Success)
}

pub fn man(a: ManArgs) -> CliResult<Exit> {
    let cmd = Cli::command();
    let Some(dir) = a.dir else {
        let mut out = std::io::stdout();
        clap_mangen::Man::new(cmd)
            .render(&mut out)
            .map_err(|e| CliError::msg(format!("cannot write the manual page: {e}")))?;
        return Ok(Exit::Success);
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::msg(format!("cannot create {}: {e}", dir.display())))?;
    let write = |name: String, page: clap::Command| -> CliResult<()> {
        let path = dir.join(format!("{name}.1"));
        let mut bytes = vec![];
        clap_mangen::Man::new(page)
            .title(name)
            .render(&mut bytes)
            .map_err(|e| CliError::msg(e.to_string()))?;
        std::fs::write(&path, bytes)
            .map_err(|e| CliError::msg(format!("cannot write {}: {e}", path.display())))
    };
    let mut count = 1;
    for sub in cmd.get_subcommands() {
        let name = format!("netplan-{}", sub.get_name());
        write(name, sub.clone())?;
        count += 1;
    }
    write("netplan".into(), cmd)?;
    eprintln!("wrote {count} manual pages to {}", dir.display());
    Ok(Exit::Success)
}
