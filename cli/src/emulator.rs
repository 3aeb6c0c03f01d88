//! The local AWS emulator (moto's server) for `--local` and `netplan local up|down|status`: started
//! detached on 127.0.0.1 (port 4566 unless taken or set), with what moto needs for Lambda and IAM
//! (managed policies loaded, Lambda without Docker); its pid and port live in `.netplan/local.json`.
//!
//! moto is found on the PATH, or else installed on first use into netplan's own cache: a private Python
//! virtual environment with a pinned `moto[server]` (`$NETPLAN_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/netplan`, else `~/.cache/netplan`), marked complete only once pip succeeded, so an
//! interrupted install is made again, never mistaken for a working one. (A virtual environment cannot be
//! moved into place: its scripts name its interpreter by absolute path.)

use crate::error::{CliError, CliResult};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Local {
    pub pid: u32,
    pub port: u16,
    pub started_at: String,
}

fn dir() -> PathBuf {
    PathBuf::from(".netplan")
}

fn record() -> PathBuf {
    dir().join("local.json")
}

pub fn endpoint(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// One HTTP/1.1 request to the emulator on loopback (its control API); returns the status code.
fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<u16> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status"))
}

fn alive(pid: u32) -> bool {
    // Signal 0 checks that the process exists.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

fn responds(port: u16) -> bool {
    http(port, "GET", "/moto-api/", "").is_ok()
}

pub fn status() -> Option<Local> {
    let l: Local = serde_json::from_slice(&std::fs::read(record()).ok()?).ok()?;
    (alive(l.pid) && is_the_emulator(&l)).then_some(l)
}

fn free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Starts the emulator unless it runs; returns it.
pub fn up(port: Option<u16>) -> CliResult<Local> {
    if let Some(l) = status() {
        return Ok(l);
    }
    let port = match port {
        Some(p) => p,
        None if free(4566) => 4566,
        None => TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| CliError::msg(format!("no free port: {e}")))?,
    };
    std::fs::create_dir_all(dir())
        .map_err(|e| CliError::msg(format!("cannot create .netplan/: {e}")))?;
    let log = std::fs::File::create(dir().join("moto.log"))
        .map_err(|e| CliError::msg(format!("cannot write .netplan/moto.log: {e}")))?;
    let server = moto_server()?;
    let mut cmd = std::process::Command::new(&server);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().map_err(|e| CliError::msg(e.to_string()))?)
        .stderr(log);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0); // detached from the terminal's Ctrl-C
    }
    let child = cmd.spawn().map_err(|e| {
        CliError::with_hint(
            format!("cannot start {}: {e}", server.display()),
            "install the emulator with: pip install 'moto[server]'",
        )
    })?;
    let start = Instant::now();
    while !responds(port) {
        if start.elapsed() > Duration::from_secs(30) {
            return Err(CliError::with_hint(
                format!("moto_server did not answer on 127.0.0.1:{port} within 30s"),
                "see .netplan/moto.log",
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Lambda without Docker: CreateFunction works and Invoke answers without running the handler.
    http(
        port,
        "POST",
        "/moto-api/config",
        r#"{"lambda": {"use_docker": false}}"#,
    )
    .map_err(|e| CliError::msg(format!("cannot configure moto: {e}")))?;
    let l = Local {
        pid: child.id(),
        port,
        started_at: netplan_engine::state::now_rfc3339(),
    };
    std::fs::write(record(), serde_json::to_vec_pretty(&l).unwrap_or_default())
        .map_err(|e| CliError::msg(e.to_string()))?;
    Ok(l)
}

/// What `local down` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Down {
    /// The emulator was running and is stopped.
    Stopped,
    /// Nothing was running.
    NotRunning,
    /// The recorded pid is alive but is not the emulator (the pid was reused): left alone.
    NotTheEmulator(u32),
}

/// Whether process `pid` is the emulator this record names: a moto server by its command line (on
/// Linux), answering on the recorded port.
fn is_the_emulator(l: &Local) -> bool {
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", l.pid))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .ok();
    let looks_like_moto = match cmdline {
        Some(c) => c.contains("moto"),
        // No /proc (not Linux): the port answering like moto is the evidence.
        None => true,
    };
    looks_like_moto && responds(l.port)
}

/// Stops the emulator the record names — only if the recorded pid is still that emulator: a pid the
/// system gave to another process since is never signalled.
pub fn down() -> CliResult<Down> {
    let Ok(bytes) = std::fs::read(record()) else {
        return Ok(Down::NotRunning);
    };
    let l: Local = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::msg(format!(".netplan/local.json: {e}")))?;
    let outcome = if !alive(l.pid) {
        Down::NotRunning
    } else if !is_the_emulator(&l) {
        Down::NotTheEmulator(l.pid)
    } else {
        unsafe {
            libc::kill(l.pid as i32, libc::SIGTERM);
        }
        let start = Instant::now();
        while alive(l.pid) && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(50));
        }
        Down::Stopped
    };
    let _ = std::fs::remove_file(record());
    Ok(outcome)
}

/// The moto version a private install pins (the one netplan's tests run against).
pub const MOTO_PIN: &str = "5.2.1";

/// The file that marks a private install as complete.
const COMPLETE: &str = ".netplan-complete";

/// A program on the PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// netplan's cache folder.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("NETPLAN_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("netplan"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("netplan"))
}

/// moto's server program: the PATH's, else the private install (made now if missing).
fn moto_server() -> CliResult<PathBuf> {
    if let Some(p) = on_path("moto_server") {
        return Ok(p);
    }
    let cache = cache_dir().ok_or_else(|| {
        CliError::with_hint(
            "moto_server is not on the PATH and there is no cache folder to install it into (HOME is not set)",
            "set NETPLAN_CACHE_DIR, or install the emulator with: pip install 'moto[server]'",
        )
    })?;
    let venv = cache.join(format!("moto-{MOTO_PIN}"));
    let server = venv.join("bin").join("moto_server");
    if server.is_file() && venv.join(COMPLETE).is_file() {
        return Ok(server);
    }
    install(&cache, &venv)?;
    Ok(server)
}

/// Installs `moto[server]==MOTO_PIN` into a private virtual environment at `venv`, with progress.
fn install(cache: &std::path::Path, venv: &std::path::Path) -> CliResult<()> {
    let Some(python) = on_path("python3").or_else(|| on_path("python")) else {
        return Err(CliError::with_hint(
            "--local needs moto (the local AWS emulator), and moto needs Python 3: there is no python3 on this machine",
            "install Python 3 (e.g. apt-get install python3 python3-venv, brew install python, or python.org), then run the command again: netplan installs moto itself",
        ));
    };
    std::fs::create_dir_all(cache)
        .map_err(|e| CliError::msg(format!("cannot create {}: {e}", cache.display())))?;
    // An install that was interrupted is made again from nothing.
    let partial = venv.to_path_buf();
    let _ = std::fs::remove_dir_all(&partial);
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    eprintln!(
        "moto_server is not on the PATH: installing moto[server]=={MOTO_PIN} into {} (once)",
        venv.display()
    );
    let fail = |what: String, output: &[u8], hint: &str| -> CliError {
        let _ = std::fs::remove_dir_all(&partial);
        let text = String::from_utf8_lossy(output);
        let tail: Vec<&str> = text.lines().rev().take(12).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        CliError::with_hint(format!("{what}\n{}", tail.join("\n")), hint.to_string())
    };
    bar.set_message(format!(
        "creating a virtual environment with {}",
        python.display()
    ));
    let out = std::process::Command::new(&python)
        .args(["-m", "venv"])
        .arg(&partial)
        .output()
        .map_err(|e| CliError::msg(format!("cannot run {}: {e}", python.display())))?;
    if !out.status.success() {
        bar.finish_and_clear();
        return Err(fail(
            format!("{} -m venv failed:", python.display()),
            &[out.stdout, out.stderr].concat(),
            "install Python's venv module (e.g. apt-get install python3-venv), or install the emulator yourself: pip install 'moto[server]'",
        ));
    }
    let pip = partial.join("bin").join("pip");
    let mut child = std::process::Command::new(&pip)
        .args([
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
        ])
        .arg(format!("moto[server]=={MOTO_PIN}"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| CliError::msg(format!("cannot run {}: {e}", pip.display())))?;
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = e.read_to_end(&mut s);
            s
        })
    });
    let mut log = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let short: String = line.chars().take(100).collect();
            bar.set_message(format!("pip: {short}"));
            log.extend_from_slice(line.as_bytes());
            log.push(b'\n');
        }
    }
    let status = child
        .wait()
        .map_err(|e| CliError::msg(format!("{}: {e}", pip.display())))?;
    if let Some(h) = stderr {
        log.extend(h.join().unwrap_or_default());
    }
    bar.finish_and_clear();
    if !status.success() {
        return Err(fail(
            format!("installing moto[server]=={MOTO_PIN} failed ({status}):"),
            &log,
            "check the network access to the Python package index (pip's messages above), or install the emulator yourself: pip install 'moto[server]'",
        ));
    }
    std::fs::write(venv.join(COMPLETE), MOTO_PIN)
        .map_err(|e| CliError::msg(format!("cannot write in {}: {e}", venv.display())))?;
    eprintln!("installed moto {MOTO_PIN} into {}", venv.display());
    Ok(())
}
