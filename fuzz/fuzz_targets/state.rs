//! The state loader: any bytes read from a state file must load or be refused — never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = netplan_engine::state::store::parse("fuzz.json", data, None);
});
