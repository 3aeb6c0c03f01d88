//! The config loader: any bytes, as a config file beside the bad-config corpus (which holds function
//! sources), must load or be refused with diagnostics — never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bad");
    let text = String::from_utf8_lossy(data);
    let _ = netplan_engine::config::load_str(
        "fuzz.toml",
        &text,
        &dir,
        &netplan_engine::config::LoadOptions::default(),
    );
});
