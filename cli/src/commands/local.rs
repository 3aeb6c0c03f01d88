//! `netplan local up|down|status`: the local AWS emulator.

use crate::emulator;
use crate::error::CliResult;
use crate::{Exit, Globals};

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Action {
    Up,
    Down,
    Status,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_enum)]
    pub action: Action,
    /// Port for the emulator (default 4566, or a free one).
    #[arg(long)]
    pub port: Option<u16>,
}

pub async fn run(_g: &Globals, a: Args) -> CliResult<Exit> {
    match a.action {
        Action::Up => {
            let l = emulator::up(a.port)?;
            println!(
                "local emulator running at {} (pid {}); use --local, or AWS_ENDPOINT_URL={}",
                emulator::endpoint(l.port),
                l.pid,
                emulator::endpoint(l.port)
            );
        }
        Action::Down => match emulator::down()? {
            emulator::Down::Stopped => println!("local emulator stopped"),
            emulator::Down::NotRunning => println!("no local emulator was running"),
            emulator::Down::NotTheEmulator(pid) => println!(
                "no local emulator was running: the recorded pid {pid} now belongs to another process, left alone; the record is removed"
            ),
        },
        Action::Status => match emulator::status() {
            Some(l) => println!(
                "running at {} (pid {}, since {})",
                emulator::endpoint(l.port),
                l.pid,
                l.started_at
            ),
            None => println!("not running"),
        },
    }
    Ok(Exit::Success)
}
