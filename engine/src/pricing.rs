//! What a network costs each month: AWS's on-demand list prices per region (the table below, each figure
//! with the date it was taken and its source) and the cost of a set of resources, itemised.
//!
//! Only what is priced by the hour is counted by default: NAT gateways, NAT instances (and their root
//! volumes), public IPv4 addresses. Per-GB charges are rates, counted only when `[stack]
//! egress_gb_per_month` estimates the traffic. Lambda is priced by use and is never guessed. A region
//! missing from the table is "price unknown", never a neighbour's figure.

use crate::addr::Kind;
use serde::Serialize;
use std::collections::BTreeMap;

/// AWS bills an always-on resource 730 hours a month (8,760 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The root volume of a NAT instance: the Amazon Linux 2023 AMI's default, 8 GB of gp3.
pub const NAT_ROOT_GB: f64 = 8.0;

/// When the table's figures were taken (all of them, from the pages below).
pub const AS_OF: &str = "2026-11-29";

pub const SOURCE_VPC: &str = "https://aws.amazon.com/vpc/pricing/";
pub const SOURCE_EC2: &str = "https://aws.amazon.com/ec2/pricing/on-demand/";
pub const SOURCE_EBS: &str = "https://aws.amazon.com/ebs/pricing/";

/// On-demand prices of one region, in USD.
#[derive(Debug, Clone, Copy)]
pub struct RegionPrices {
    pub region: &'static str,
    /// A NAT gateway, per hour (SOURCE_VPC, "NAT Gateway Pricing").
    pub nat_gateway_hour: f64,
    /// Data processed by a NAT gateway, per GB (SOURCE_VPC).
    pub nat_gateway_gb: f64,
    /// A public IPv4 address, in use or idle, per hour (SOURCE_VPC, "Public IPv4 address"; since
    /// 2024-02-01, the same in every commercial region).
    pub public_ipv4_hour: f64,
    /// Data transfer out to the internet, per GB, the first 10 TB of a month after the account's
    /// 100 GB free (SOURCE_EC2, "Data Transfer").
    pub internet_out_gb: f64,
    /// gp3 storage, per GB-month (SOURCE_EBS).
    pub gp3_gb_month: f64,
    /// Linux instances, per hour (SOURCE_EC2): the types a NAT instance is usually made of.
    pub instances: &'static [(&'static str, f64)],
}

/// The table. Cross-checked on 2026-11-29 against the pricing pages held in this project's reference
/// library: the us-east-1 NAT gateway and public IPv4 figures, ap-northeast-1's NAT gateway ($0.062)
/// and data transfer out ($0.114), ap-southeast-1's NAT gateway ($0.059) and us-east-1's t4g.nano
/// ($0.0042). `--pricing-api` is not implemented: check the pages before a decision that turns on the
/// third decimal.
pub static REGIONS: &[RegionPrices] = &[
    RegionPrices {
        region: "us-east-1",
        nat_gateway_hour: 0.045,
        nat_gateway_gb: 0.045,
        public_ipv4_hour: 0.005,
        internet_out_gb: 0.09,
        gp3_gb_month: 0.08,
        instances: US_INSTANCES,
    },
    RegionPrices {
        region: "us-east-2",
        nat_gateway_hour: 0.045,
        nat_gateway_gb: 0.045,
        public_ipv4_hour: 0.005,
        internet_out_gb: 0.09,
        gp3_gb_month: 0.08,
        instances: US_INSTANCES,
    },
    RegionPrices {
        region: "us-west-2",
        nat_gateway_hour: 0.045,
        nat_gateway_gb: 0.045,
        public_ipv4_hour: 0.005,
        internet_out_gb: 0.09,
        gp3_gb_month: 0.08,
        instances: US_INSTANCES,
    },
    RegionPrices {
        region: "eu-west-1",
        nat_gateway_hour: 0.048,
        nat_gateway_gb: 0.048,
        public_ipv4_hour: 0.005,
        internet_out_gb: 0.09,
        gp3_gb_month: 0.088,
        instances: &[
            ("t4g.nano", 0.0046),
            ("t4g.micro", 0.0092),
            ("t4g.small", 0.0184),
            ("t3.nano", 0.0057),
            ("t3.micro", 0.0114),
            ("t3.small", 0.0228),
        ],
    },
    RegionPrices {
        region: "eu-central-1",
        nat_gateway_hour: 0.052,
        nat_gateway_gb: 0.052,
        public_ipv4_hour: 0.005,
        internet_out_gb: 0.09,
        gp3_gb_month: 0.0952,
        instances: &[
            ("t4g.nano", 0.0048),
            ("t4g.micro", 0.0096),
            ("t4g.small", 0.0192),
            ("t3.nano", 0.006),
            ("t3.micro", 0.012),
            ("t3.small", 0.024),
        ],
    },
    RegionPrices {
        region: "ap-northeast-1",
        nat_gateway_hour: 0.062,
        nat_gateway_gb: 0.062,
        public_ipv4_hour: 0.005,
        internet_out_gb: 0.114,
        gp3_gb_month: 0.096,
        instances: &[
            ("t4g.nano", 0.0054),
            ("t4g.micro", 0.0108),
            ("t4g.small", 0.0216),
            ("t3.nano", 0.0068),
            ("t3.micro", 0.0136),
            ("t3.small", 0.0272),
        ],
    },
    RegionPrices {
        region: "ap-southeast-1",
        nat_gateway_hour: 0.059,
        nat_gateway_gb: 0.059,
        public_ipv4_hour: 0.005,
        internet_out_gb: 0.12,
        gp3_gb_month: 0.096,
        instances: &[
            ("t4g.nano", 0.0053),
            ("t4g.micro", 0.0106),
            ("t4g.small", 0.0212),
            ("t3.nano", 0.0066),
            ("t3.micro", 0.0132),
            ("t3.small", 0.0264),
        ],
    },
];

const US_INSTANCES: &[(&str, f64)] = &[
    ("t4g.nano", 0.0042),
    ("t4g.micro", 0.0084),
    ("t4g.small", 0.0168),
    ("t3.nano", 0.0052),
    ("t3.micro", 0.0104),
    ("t3.small", 0.0208),
];

/// What the config builds (not what it only uses: `existing` objects are someone else's bill).
pub fn of_config(config: &crate::config::Config) -> Vec<Priced> {
    config
        .resources
        .values()
        .filter(|r| r.existing.is_none())
        .map(priced)
        .collect()
}

/// What the cost of one declared resource depends on.
pub fn priced(r: &crate::resource::Resource) -> Priced {
    Priced {
        kind: r.addr.kind,
        instance_type: r.str_attr("instance_type").map(str::to_string),
        has_elastic_ip: r.attrs.contains_key("elastic_ip"),
        ipv6_only: r.attrs.get("internet") == Some(&crate::value::Value::str("ipv6")),
        service: r.str_attr("service").map(str::to_string),
    }
}

/// What the state holds (and netplan made).
pub fn of_state(state: &crate::state::State) -> Vec<Priced> {
    state
        .resources
        .iter()
        .filter(|r| !r.existing)
        .map(|r| {
            let s = |k: &str| {
                r.attributes
                    .get(k)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            Priced {
                kind: r.address.kind,
                instance_type: s("instance_type"),
                has_elastic_ip: r.attributes.get("elastic_ip").is_some_and(|v| !v.is_null()),
                ipv6_only: s("internet").as_deref() == Some("ipv6"),
                service: s("service"),
            }
        })
        .collect()
}

pub fn prices(region: &str) -> Option<&'static RegionPrices> {
    REGIONS.iter().find(|r| r.region == region)
}

impl RegionPrices {
    pub fn instance_hour(&self, instance_type: &str) -> Option<f64> {
        self.instances
            .iter()
            .find(|(t, _)| *t == instance_type)
            .map(|(_, p)| *p)
    }
}

/// One thing the network is charged for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// What is charged: "NAT gateway", "public IPv4 address", "NAT instance t4g.nano", …
    pub what: String,
    pub count: u32,
    /// How the figure is made: "2 × 730 h × $0.045/h".
    pub how: String,
    /// The unit price in USD (per hour, per GB-month or per GB).
    pub rate: Option<f64>,
    pub unit: &'static str,
    /// USD a month; `None`: not known (a price missing from the table, or priced by use).
    pub monthly: Option<f64>,
    /// Where the price comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
}

/// A per-GB charge, shown as a rate unless the traffic is estimated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    pub what: String,
    pub per_gb: f64,
    pub source: &'static str,
}

/// The monthly cost of a set of resources in one region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    pub region: Option<String>,
    pub currency: &'static str,
    pub hours_per_month: f64,
    /// When the prices were taken (the table's date).
    pub prices_as_of: &'static str,
    pub lines: Vec<Line>,
    /// Per-GB charges: counted in `lines` only with `egress_gb_per_month`.
    pub per_gb: Vec<Rate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egress_gb_per_month: Option<f64>,
    /// USD a month of every line; `None` when a line's price is unknown.
    pub monthly: Option<f64>,
    pub notes: Vec<String>,
}

/// What the cost of one resource depends on.
#[derive(Debug, Clone)]
pub struct Priced {
    pub kind: Kind,
    /// `nat_instance`: its type.
    pub instance_type: Option<String>,
    /// `nat_instance`: whether an Elastic IP (counted on its own) gives its public address.
    pub has_elastic_ip: bool,
    /// `lambda_function`: `internet = "ipv6"` (its traffic skips NAT).
    pub ipv6_only: bool,
    /// `vpc_endpoint`: the service.
    pub service: Option<String>,
}

impl Priced {
    pub fn new(kind: Kind) -> Priced {
        Priced {
            kind,
            instance_type: None,
            has_elastic_ip: false,
            ipv6_only: false,
            service: None,
        }
    }
}

pub fn money(v: f64) -> String {
    format!("${v:.2}")
}

pub fn rate_text(v: f64) -> String {
    // Prices have up to four decimals: $0.045, $0.0042.
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0');
    format!("${}", s.strip_suffix('.').unwrap_or(s))
}

/// The monthly cost of `resources` in `region`, with the per-GB lines counted when `egress_gb` is given.
pub fn cost(region: Option<&str>, resources: &[Priced], egress_gb: Option<f64>) -> Cost {
    let table = region.and_then(prices);
    let count = |k: Kind| resources.iter().filter(|r| r.kind == k).count() as u32;
    let mut lines = vec![];
    let mut per_gb = vec![];
    let mut notes = vec![];
    let hourly = |what: String, n: u32, rate: Option<f64>, source: &'static str| Line {
        how: match rate {
            Some(r) => format!("{n} × {HOURS_PER_MONTH} h × {}/h", rate_text(r)),
            None => format!("{n} × {HOURS_PER_MONTH} h × (price unknown)"),
        },
        what,
        count: n,
        rate,
        unit: "hour",
        monthly: rate.map(|r| n as f64 * HOURS_PER_MONTH * r),
        source: Some(source),
    };

    let nat_gateways = count(Kind::NatGateway);
    if nat_gateways > 0 {
        lines.push(hourly(
            plural("NAT gateway", nat_gateways),
            nat_gateways,
            table.map(|t| t.nat_gateway_hour),
            SOURCE_VPC,
        ));
    }
    let mut by_type: BTreeMap<&str, u32> = BTreeMap::new();
    let mut instances_without_eip = 0;
    for r in resources.iter().filter(|r| r.kind == Kind::NatInstance) {
        *by_type
            .entry(r.instance_type.as_deref().unwrap_or("t4g.nano"))
            .or_default() += 1;
        if !r.has_elastic_ip {
            instances_without_eip += 1;
        }
    }
    for (ty, n) in &by_type {
        lines.push(hourly(
            format!("{} ({ty})", plural("NAT instance", *n)),
            *n,
            table.and_then(|t| t.instance_hour(ty)),
            SOURCE_EC2,
        ));
    }
    let nat_instances: u32 = by_type.values().sum();
    if nat_instances > 0 {
        let rate = table.map(|t| t.gp3_gb_month);
        lines.push(Line {
            what: format!(
                "{} of NAT instances ({NAT_ROOT_GB} GB gp3 each)",
                plural("root volume", nat_instances)
            ),
            count: nat_instances,
            how: match rate {
                Some(r) => format!(
                    "{nat_instances} × {NAT_ROOT_GB} GB × {}/GB-month",
                    rate_text(r)
                ),
                None => format!("{nat_instances} × {NAT_ROOT_GB} GB × (price unknown)"),
            },
            rate,
            unit: "GB-month",
            monthly: rate.map(|r| nat_instances as f64 * NAT_ROOT_GB * r),
            source: Some(SOURCE_EBS),
        });
    }
    let addresses = count(Kind::ElasticIp) + instances_without_eip;
    if addresses > 0 {
        lines.push(hourly(
            format!(
                "{} ({})",
                plural("public IPv4 address", addresses),
                if instances_without_eip == 0 {
                    "Elastic IPs"
                } else if instances_without_eip == addresses {
                    "NAT instances' public IPs"
                } else {
                    "Elastic IPs and NAT instances' public IPs"
                }
            ),
            addresses,
            table.map(|t| t.public_ipv4_hour),
            SOURCE_VPC,
        ));
    }
    let gateway_endpoints = count(Kind::VpcEndpoint);
    if gateway_endpoints > 0 {
        lines.push(Line {
            what: format!(
                "{} (S3, DynamoDB)",
                plural("gateway endpoint", gateway_endpoints)
            ),
            count: gateway_endpoints,
            how: "free".into(),
            rate: Some(0.0),
            unit: "hour",
            monthly: Some(0.0),
            source: Some(SOURCE_VPC),
        });
    }
    let functions = count(Kind::LambdaFunction);
    if functions > 0 {
        notes.push(format!(
            "{} priced by use (requests and GB-seconds): not estimated",
            if functions == 1 {
                "the Lambda function is".to_string()
            } else {
                format!("the {functions} Lambda functions are")
            }
        ));
    }

    // Per-GB: what the functions send out. IPv4 traffic goes through the NAT (gateways charge for
    // every GB processed); all of it leaves AWS (data transfer out).
    let ipv4_traffic = resources
        .iter()
        .any(|r| r.kind == Kind::LambdaFunction && !r.ipv6_only);
    if let Some(t) = table {
        if nat_gateways > 0 && ipv4_traffic {
            per_gb.push(Rate {
                what: "processed by NAT gateways".into(),
                per_gb: t.nat_gateway_gb,
                source: SOURCE_VPC,
            });
        }
        if functions > 0 {
            per_gb.push(Rate {
                what: "out to the internet (data transfer, every design)".into(),
                per_gb: t.internet_out_gb,
                source: SOURCE_EC2,
            });
        }
    }
    if let Some(gb) = egress_gb {
        for r in &per_gb {
            lines.push(Line {
                what: format!("{gb} GB {}", r.what),
                count: 1,
                how: format!("{gb} GB × {}/GB", rate_text(r.per_gb)),
                rate: Some(r.per_gb),
                unit: "GB",
                monthly: Some(gb * r.per_gb),
                source: Some(r.source),
            });
        }
    }
    match (region, table) {
        (None, _) => notes.push("no region: prices unknown".into()),
        (Some(r), None) if !lines.is_empty() => notes.push(format!(
            "price unknown: netplan's price table has no figures for {r} (it has {})",
            REGIONS
                .iter()
                .map(|r| r.region)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => {}
    }
    let monthly = lines
        .iter()
        .map(|l| l.monthly)
        .sum::<Option<f64>>()
        .map(round_cents);
    Cost {
        region: region.map(str::to_string),
        currency: "USD",
        hours_per_month: HOURS_PER_MONTH,
        prices_as_of: AS_OF,
        lines,
        per_gb,
        egress_gb_per_month: egress_gb,
        monthly,
        notes,
    }
}

fn round_cents(v: f64) -> f64 {
    // `+ 0.0` turns an empty sum's -0.0 into 0.0.
    (v * 100.0).round() / 100.0 + 0.0
}

fn plural(what: &str, n: u32) -> String {
    if n == 1 {
        what.to_string()
    } else if what.ends_with('s') {
        format!("{what}es")
    } else {
        format!("{what}s")
    }
}

impl Cost {
    /// `$73.00/month`, or `price unknown`.
    pub fn total_text(&self) -> String {
        match self.monthly {
            Some(m) => format!("{}/month", money(m)),
            None => "price unknown".into(),
        }
    }

    /// The lines as text, one per line, indented.
    pub fn render(&self, indent: &str) -> String {
        let mut out = String::new();
        let width = self
            .lines
            .iter()
            .map(|l| l.what.chars().count())
            .max()
            .unwrap_or(0);
        for l in &self.lines {
            let amount = match l.monthly {
                Some(m) => money(m),
                None => "price unknown".into(),
            };
            out.push_str(&format!(
                "{indent}{:<width$}  {:>10}   {}\n",
                l.what, amount, l.how
            ));
        }
        if self.egress_gb_per_month.is_none() && !self.per_gb.is_empty() {
            let rates: Vec<String> = self
                .per_gb
                .iter()
                .map(|r| format!("+ {} per GB {}", rate_text(r.per_gb), r.what))
                .collect();
            out.push_str(&format!(
                "{indent}{} (set egress_gb_per_month in [stack] to count them)\n",
                rates.join(", ")
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("{indent}{n}\n"));
        }
        out
    }
}

/// A difference of two monthly figures as text: `+$73.00/month`, `-$32.85/month`, `no change`.
pub fn change_text(before: Option<f64>, after: Option<f64>) -> String {
    match (before, after) {
        (Some(b), Some(a)) => {
            let d = round_cents(a - b);
            if d.abs() < 0.005 {
                "no change".into()
            } else if d > 0.0 {
                format!("+{}/month", money(d))
            } else {
                format!("-{}/month", money(-d))
            }
        }
        _ => "price unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Vec<Priced> {
        let mut v = vec![];
        for k in [
            Kind::NatGateway,
            Kind::NatGateway,
            Kind::ElasticIp,
            Kind::ElasticIp,
            Kind::VpcEndpoint,
            Kind::LambdaFunction,
            Kind::Vpc,
        ] {
            v.push(Priced::new(k));
        }
        v
    }

    #[test]
    fn the_seed_costs_73_dollars_a_month_in_us_east_1() {
        let c = cost(Some("us-east-1"), &seed(), None);
        assert_eq!(c.monthly, Some(73.0));
        assert_eq!(c.total_text(), "$73.00/month");
        assert_eq!(c.lines[0].monthly, Some(65.7));
        assert_eq!(c.lines[0].how, "2 × 730 h × $0.045/h");
        assert_eq!(c.lines[1].monthly, Some(7.3));
        let text = c.render("");
        assert!(
            text.contains("+ $0.045 per GB processed by NAT gateways"),
            "{text}"
        );
        assert!(text.contains("priced by use"), "{text}");
    }

    #[test]
    fn tokyo_costs_more_and_traffic_counts_only_when_estimated() {
        let tokyo = cost(Some("ap-northeast-1"), &seed(), None);
        assert_eq!(tokyo.monthly, Some(round_cents(2.0 * 730.0 * 0.062 + 7.3)));
        let with = cost(Some("us-east-1"), &seed(), Some(100.0));
        assert_eq!(with.monthly, Some(round_cents(73.0 + 4.5 + 9.0)));
    }

    #[test]
    fn an_unknown_region_or_type_is_price_unknown_never_a_guess() {
        let c = cost(Some("sa-east-1"), &seed(), None);
        assert_eq!(c.monthly, None);
        assert_eq!(c.total_text(), "price unknown");
        assert!(c
            .notes
            .iter()
            .any(|n| n.contains("no figures for sa-east-1")));
        let mut nat = Priced::new(Kind::NatInstance);
        nat.instance_type = Some("m7g.large".into());
        assert_eq!(cost(Some("us-east-1"), &[nat], None).monthly, None);
    }

    #[test]
    fn nat_instances_cost_their_type_their_volume_and_their_address() {
        let mut nat = Priced::new(Kind::NatInstance);
        nat.instance_type = Some("t4g.nano".into());
        let c = cost(Some("us-east-1"), &[nat.clone(), nat], None);
        // 2 × 730 × 0.0042 + 2 × 8 × 0.08 + 2 × 730 × 0.005
        assert_eq!(c.monthly, Some(round_cents(6.132 + 1.28 + 7.3)));
        assert_eq!(change_text(Some(73.0), c.monthly), "-$58.29/month");
    }
}
