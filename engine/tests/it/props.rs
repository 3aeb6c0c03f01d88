//! Property tests: random valid configs plan and order topologically; random subnet layouts never hide
//! an overlap from the validator; a state written then loaded is identical.

use netplan_engine::config::{self, LoadOptions};
use netplan_engine::plan::{self, Action, PlanOptions};
use netplan_engine::state::store::{LocalFileStore, StateStore};
use netplan_engine::state::{Operation, PendingOperation, ResourceState, State};
use proptest::prelude::*;
use std::collections::HashMap;

fn load(text: &str) -> Result<netplan_engine::config::Config, netplan_engine::diag::Diagnostics> {
    let dir = super::support::repo().join("tests/bad"); // holds functions/probe
    config::load_str("random.toml", text, &dir, &LoadOptions::default())
}

#[derive(Debug, Clone)]
struct Net {
    azs: usize,
    public: usize,
    private: usize,
    nat: &'static str,
    ipv6: bool,
    s3: bool,
    functions: usize,
}

fn net() -> impl Strategy<Value = Net> {
    (
        1usize..=3,
        0usize..=3,
        0usize..=3,
        prop::sample::select(vec!["none", "single", "per_az"]),
        any::<bool>(),
        any::<bool>(),
        0usize..=2,
    )
        .prop_map(|(azs, public, private, nat, ipv6, s3, functions)| {
            // Keep it valid: per_az needs a public subnet in every AZ with private ones.
            let nat = match nat {
                "per_az" if public < azs.min(private.max(1)) || public == 0 => {
                    if public > 0 {
                        "single"
                    } else {
                        "none"
                    }
                }
                "single" if public == 0 => "none",
                n => n,
            };
            let private = if functions > 0 {
                private.max(1)
            } else {
                private
            };
            // Carving covers two subnets per AZ and tier.
            let (public, private) = (public.min(2 * azs), private.min(2 * azs));
            let nat = if nat == "per_az" && public < azs.min(private) {
                if public > 0 {
                    "single"
                } else {
                    "none"
                }
            } else {
                nat
            };
            Net {
                azs,
                public,
                private,
                nat,
                ipv6,
                s3,
                functions,
            }
        })
}

fn render(nets: &[Net]) -> String {
    let mut t = String::from("[stack]\nname = \"prop\"\nregion = \"us-east-1\"\n");
    for (i, n) in nets.iter().enumerate() {
        t.push_str(&format!(
            "\n[network.n{i}]\ncidr = \"10.{i}.0.0/16\"\nazs = {}\npublic_subnets = {}\nprivate_subnets = {}\nnat_gateways = \"{}\"\nipv6 = {}\ns3_endpoint = {}\n",
            n.azs, n.public, n.private, n.nat, n.ipv6, n.s3
        ));
        for f in 0..n.functions {
            t.push_str(&format!("\n[function.f{i}_{f}]\nnetwork = \"network.n{i}\"\nruntime = \"python3.12\"\nhandler = \"lambda_function.lambda_handler\"\nsource = \"functions/probe\"\n"));
        }
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn random_valid_configs_plan_in_topological_order(nets in prop::collection::vec(net(), 1..4)) {
        let text = render(&nets);
        let config = load(&text).map_err(|d| TestCaseError::fail(format!("{text}\n{d}")))?;
        let p = plan::plan(&config, None, vec![], PlanOptions::default());
        prop_assert_eq!(p.changes.len(), config.resources.len());
        let pos: HashMap<_, _> = p.changes.iter().enumerate().map(|(i, c)| (c.address.clone(), i)).collect();
        for c in &p.changes {
            prop_assert_eq!(c.action, Action::Create);
            for d in &c.depends_on {
                prop_assert!(pos[d] < pos[&c.address], "{} is planned before its dependency {}", c.address, d);
            }
        }
    }

    #[test]
    fn adding_an_az_never_renames_or_readdresses_existing_subnets(azs in 1usize..3, public in 1usize..3, private in 1usize..3) {
        let before = load(&render(&[Net { azs, public, private, nat: "single", ipv6: true, s3: true, functions: 0 }])).unwrap();
        let after = load(&render(&[Net { azs: azs + 1, public: public + 1, private: private + 1, nat: "single", ipv6: true, s3: true, functions: 0 }])).unwrap();
        for r in before.resources.values().filter(|r| r.addr.kind == netplan_engine::Kind::Subnet) {
            let same = after.resources.get(&r.addr);
            prop_assert!(same.is_some(), "{} vanished", r.addr);
            prop_assert_eq!(same.unwrap().str_attr("cidr"), r.str_attr("cidr"));
            prop_assert_eq!(same.unwrap().str_attr("az"), r.str_attr("az"));
        }
    }

    #[test]
    fn random_subnet_layouts_never_hide_an_overlap(subnets in prop::collection::vec((18u8..=28, 0u32..65536), 2..8)) {
        let nets: Vec<ipnet::Ipv4Net> = subnets
            .iter()
            .map(|(len, off)| ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(0x0a00_0000u32 | (off & 0xffff)), *len).unwrap().trunc())
            .collect();
        let mut truth = false;
        for i in 0..nets.len() {
            for j in i + 1..nets.len() {
                if nets[i].contains(&nets[j].network()) || nets[j].contains(&nets[i].network()) {
                    truth = true;
                }
            }
        }
        let mut text = String::from("[stack]\nname = \"prop\"\nregion = \"us-east-1\"\n\n[vpc.main]\ncidr = \"10.0.0.0/16\"\n");
        for (i, n) in nets.iter().enumerate() {
            text.push_str(&format!("\n[subnet.s{i}]\nvpc = \"vpc.main\"\ncidr = \"{n}\"\naz = \"us-east-1a\"\n"));
        }
        let reported = match load(&text) {
            Ok(_) => false,
            Err(d) => {
                let overlap = d.errors().any(|e| e.message.contains("overlaps"));
                prop_assert!(d.errors().all(|e| e.message.contains("overlaps")), "only overlaps expected: {d}");
                overlap
            }
        };
        prop_assert_eq!(reported, truth, "layout {:?}", nets);
    }

    #[test]
    fn state_written_then_loaded_is_identical(
        objects in prop::collection::vec(("[a-z][a-z0-9_]{0,10}", "[a-z0-9-]{1,20}", prop::collection::btree_map("[a-z_]{1,8}", "[ -~]{0,30}", 0..5), any::<bool>()), 0..20),
        serial in 0u64..1_000_000,
        pending in any::<bool>(),
    ) {
        let mut s = State::new("prop");
        s.serial = serial;
        let mut seen = std::collections::HashSet::new();
        for (name, id, attrs, existing) in objects {
            if !seen.insert(name.clone()) { continue; }
            s.upsert(ResourceState {
                address: format!("subnet.{name}").parse().unwrap(),
                id: format!("subnet-{id}-{name}"),
                existing,
                deposed: false,
                attributes: attrs.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect(),
                dependencies: vec![],
                created_at: None,
            });
        }
        if pending {
            s.pending.push(PendingOperation { operation: Operation::Create, address: "vpc.new".parse().unwrap(), id: None, token: "tok".into(), started_at: "2026-11-25T00:00:00Z".into(), dependencies: vec![] });
        }
        let dir = tempfile::tempdir().unwrap();
        let store = LocalFileStore::new(dir.path().join("s.json"));
        store.save(&s).unwrap();
        prop_assert_eq!(store.load().unwrap().unwrap(), s);
    }
}
