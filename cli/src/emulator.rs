//! The local AWS emulator (moto's server) for `--local` and `netplan local up|down|status`: started
//! detached on 127.0.0.1 (port 4566 unless taken or set), with what moto needs for Lambda and IAM
//! (managed policies loaded, Lambda without Docker); its pid and port live in `.netplan/local.json`.

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
    (alive(l.pid) && responds(l.port)).then_some(l)
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
    let mut cmd = std::process::Command::new("moto_server");
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
            format!("cannot start moto_server: {e}"),
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

pub fn down() -> CliResult<bool> {
    let Ok(bytes) = std::fs::read(record()) else {
        return Ok(false);
    };
    let l: Local = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::msg(format!(".netplan/local.json: {e}")))?;
    let was = alive(l.pid);
    if was {
        unsafe {
            libc::kill(l.pid as i32, libc::SIGTERM);
        }
        let start = Instant::now();
        while alive(l.pid) && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = std::fs::remove_file(record());
    Ok(was)
}
