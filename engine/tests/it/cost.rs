//! The cost in every plan and the designs `netplan cost` compares (issue 11): the seed is $73.00 a
//! month in us-east-1 (two NAT gateways and their two Elastic IPs), one NAT gateway halves the NAT
//! line, Tokyo costs more, per-GB charges count only with an estimate, and the four designs are priced
//! and checked.

use super::support::repo;
use netplan_engine::config::{self, Config, LoadOptions};
use netplan_engine::design::{self, Design, Outcome};
use netplan_engine::plan::{plan, PlanOptions};

fn seed(edit: impl Fn(&str) -> String) -> Config {
    let dir = repo().join("examples/lambda-internet");
    let path = dir.join("netplan.toml");
    let text = edit(&std::fs::read_to_string(&path).unwrap());
    config::load_str(
        &path.to_string_lossy(),
        &text,
        &dir,
        &LoadOptions::default(),
    )
    .unwrap()
}

fn monthly(c: &Config) -> (Option<f64>, Vec<(String, Option<f64>)>) {
    let p = plan(c, None, vec![], PlanOptions { destroy: false });
    let cost = p.cost.expect("every plan carries its cost");
    assert_eq!(cost.before.monthly, Some(0.0));
    (
        cost.after.monthly,
        cost.after
            .lines
            .iter()
            .map(|l| (l.what.clone(), l.monthly))
            .collect(),
    )
}

#[test]
fn the_seed_plans_73_dollars_a_month_itemised() {
    let (total, lines) = monthly(&seed(|t| t.to_string()));
    assert_eq!(total, Some(73.0));
    assert_eq!(
        lines,
        vec![
            ("NAT gateways".to_string(), Some(65.7)),
            ("public IPv4 addresses (Elastic IPs)".to_string(), Some(7.3)),
            ("gateway endpoint (S3, DynamoDB)".to_string(), Some(0.0)),
        ]
    );
    // The JSON plan carries the same figures.
    let p = plan(
        &seed(|t| t.to_string()),
        None,
        vec![],
        PlanOptions { destroy: false },
    );
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["cost"]["after"]["monthly"], serde_json::json!(73.0));
    assert_eq!(json["cost"]["change"], serde_json::json!(73.0));
    assert_eq!(
        json["cost"]["after"]["lines"][0]["monthly"],
        serde_json::json!(65.7)
    );
    assert_eq!(
        json["cost"]["after"]["per_gb"][0]["per_gb"],
        serde_json::json!(0.045)
    );
}

#[test]
fn one_nat_gateway_halves_the_nat_line_and_tokyo_costs_more() {
    let (total, lines) = monthly(&seed(|t| {
        t.replace("nat_gateways = \"per_az\"", "nat_gateways = \"single\"")
    }));
    assert_eq!(lines[0], ("NAT gateway".to_string(), Some(32.85)));
    assert_eq!(total, Some(36.5));
    let (tokyo, _) = monthly(&seed(|t| {
        t.replace("region = \"us-east-1\"", "region = \"ap-northeast-1\"")
    }));
    assert_eq!(
        tokyo,
        Some(((2.0 * 730.0 * 0.062 + 7.3) * 100.0_f64).round() / 100.0)
    );
    assert_ne!(tokyo, Some(73.0));
    let (unknown, _) = monthly(&seed(|t| {
        t.replace("region = \"us-east-1\"", "region = \"sa-east-1\"")
            .replace("azs = 2", "azs = [\"sa-east-1a\", \"sa-east-1b\"]")
    }));
    assert_eq!(unknown, None, "a region without prices is never guessed");
}

#[test]
fn traffic_counts_only_when_estimated() {
    let (total, lines) = monthly(&seed(|t| {
        t.replace("[stack]\n", "[stack]\negress_gb_per_month = 100\n")
    }));
    assert_eq!(total, Some(73.0 + 4.5 + 9.0));
    assert!(lines
        .iter()
        .any(|(w, m)| w == "100 GB processed by NAT gateways" && *m == Some(4.5)));
}

#[test]
fn a_destroy_plan_costs_nothing_after() {
    let c = seed(|t| t.to_string());
    let p = plan(&c, None, vec![], PlanOptions { destroy: true });
    let cost = p.cost.unwrap();
    assert_eq!(cost.after.monthly, Some(0.0));
}

#[test]
fn cost_compares_four_designs_each_priced_and_checked() {
    let path = repo().join("examples/lambda-internet/netplan.toml");
    let c = config::load(&path, &LoadOptions::default()).unwrap();
    let designs = design::compare(&c).expect("the seed has a network");
    let got: Vec<(Design, bool, Option<f64>, bool)> = designs
        .iter()
        .map(|d| match &d.outcome {
            Outcome::Fits { cost, reaches, .. } => (d.design, d.current, cost.monthly, *reaches),
            Outcome::DoesNotFit { reason } => panic!("{:?} does not fit: {reason}", d.design),
        })
        .collect();
    let nat_instances =
        ((2.0 * 730.0 * 0.0042 + 2.0 * 8.0 * 0.08 + 2.0 * 730.0 * 0.005) * 100.0_f64).round()
            / 100.0;
    assert_eq!(
        got,
        vec![
            (Design::NatPerAz, true, Some(73.0), true),
            (Design::NatSingle, false, Some(36.5), true),
            (Design::NatInstances, false, Some(nat_instances), true),
            (Design::Ipv6Only, false, Some(0.0), true),
        ]
    );
}
