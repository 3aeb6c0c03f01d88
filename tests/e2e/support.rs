//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_netplan")
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// Runs the binary in `dir` without colour; `fake` names the fake cloud file.
pub fn netplan(dir: &Path, args: &[&str], fake: Option<&Path>) -> Output {
    netplan_env(dir, args, fake, &[])
}

/// `netplan` with extra environment variables.
pub fn netplan_env(dir: &Path, args: &[&str], fake: Option<&Path>, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    c.envs(env.iter().copied());
    c.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("NETPLAN_FAKE_SCRIPT")
        // Never AWS itself: a loopback port where nothing listens, and test credentials.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    match fake {
        Some(f) => c.env("NETPLAN_FAKE_CLOUD", f),
        None => c.env_remove("NETPLAN_FAKE_CLOUD"),
    };
    c.output().expect("netplan runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Copies a folder (config + function sources) into a fresh temp dir: what git tracks, never what a
/// run left beside it (a state file, its backup and lock, `.netplan/`) — the README's quick start
/// followed by the tests must pass.
pub fn copy_dir(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_into(from, dir.path());
    dir
}

/// What a run leaves beside a config (gitignored): never copied into a test's folder.
pub fn left_by_a_run(name: &str) -> bool {
    name.contains(".state.json") || name == ".netplan" || name == "map.html"
}

pub fn copy_into(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).expect("readable") {
        let e = e.expect("entry");
        if left_by_a_run(&e.file_name().to_string_lossy()) {
            continue;
        }
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_into(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

/// Runs the binary against a moto server on `port`.
pub fn netplan_moto(dir: &Path, args: &[&str], port: u16) -> Output {
    netplan_moto_env(dir, args, port, &[])
}

/// `netplan_moto` with extra environment variables.
pub fn netplan_moto_env(dir: &Path, args: &[&str], port: u16, env: &[(&str, &str)]) -> Output {
    Command::new(bin())
        .envs(env.iter().copied())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("NETPLAN_FAKE_CLOUD")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("netplan runs")
}

/// What a state file on disk tracks: the ids of its objects and the addresses of its pending
/// operations. Read by the kill -9 harnesses (fake cloud and moto) after each kill.
pub struct Tracked {
    pub ids: Vec<String>,
    pub pending: Vec<String>,
}

impl Tracked {
    /// The state in `dir` (none yet: nothing tracked). A torn state file fails the test.
    pub fn read(dir: &Path) -> Tracked {
        let state: serde_json::Value = match std::fs::read(dir.join("netplan.state.json")) {
            Ok(b) => serde_json::from_slice(&b)
                .unwrap_or_else(|e| panic!("torn state file in {}: {e}", dir.display())),
            Err(_) => serde_json::json!({"resources": [], "pending": []}),
        };
        let strings = |key: &str, field: &str| -> Vec<String> {
            state[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x[field].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        Tracked {
            ids: strings("resources", "id"),
            pending: strings("pending", "address"),
        }
    }

    /// An object the cloud holds is accounted for: in the state, or named by a pending operation
    /// that the next run reconciles.
    pub fn accounts_for(&self, address: &str, id: &str) -> bool {
        self.ids.iter().any(|i| i == id) || self.pending.iter().any(|p| p == address)
    }
}
