//! The account as a plan needs it (`Provider::account`): its zones with their AZ IDs, where instance
//! types are offered, its quotas (Service Quotas; AWS's default where that call is denied or
//! unavailable, and said so) with what counts against them, and who is asking. Reads only.

use super::api::{Call, Effect};
use super::attrs::all_pages;
use super::AwsProvider;
use aws_sdk_ec2::types::Filter;
use netplan_engine::account::{Account, Quota, Zone};
use netplan_engine::provider::{AccountRequest, ProviderError};
use netplan_engine::Kind;
use std::collections::{BTreeMap, BTreeSet};

/// The quotas a plan is counted against: (what it counts, per zone, service code, quota code, name,
/// AWS's default). Amazon VPC quotas page and the EC2 Elastic IP quota, as of 2026-12.
const QUOTAS: &[(Kind, bool, &str, &str, &str, u64)] = &[
    (Kind::Vpc, false, "vpc", "L-F678F1CE", "VPCs per Region", 5),
    (
        Kind::InternetGateway,
        false,
        "vpc",
        "L-A4707A72",
        "Internet gateways per Region",
        5,
    ),
    (
        Kind::EgressOnlyInternetGateway,
        false,
        "vpc",
        "L-45FE3B85",
        "Egress-only internet gateways per Region",
        5,
    ),
    (
        Kind::ElasticIp,
        false,
        "ec2",
        "L-0263D0A3",
        "EC2-VPC Elastic IPs",
        5,
    ),
    (
        Kind::NatGateway,
        true,
        "vpc",
        "L-FE5A380F",
        "NAT gateways per Availability Zone",
        5,
    ),
];

pub(crate) async fn read(p: &AwsProvider, req: AccountRequest) -> Result<Account, ProviderError> {
    let offerings = async {
        let mut offerings = BTreeMap::new();
        for t in req.instance_types.iter().collect::<BTreeSet<_>>() {
            offerings.insert(t.clone(), offered(p, t).await?);
        }
        Ok::<_, ProviderError>(offerings)
    };
    // Quotas are a courtesy of Service Quotas: a service that fails is not waited on for minutes —
    // the documented default is used, and said. Everything is asked at once: a plan waits for the
    // slowest read, not for their sum.
    let limits =
        futures::future::join_all(QUOTAS.iter().map(|(_, _, service, code, _, default)| {
            netplan_engine::retry::within(
                tokio::time::Instant::now() + std::time::Duration::from_secs(2),
                limit(p, service, code, *default),
            )
        }));
    // Who asks is for messages only ("Account checked: …, as arn:…"): asked with the rest, and
    // never retried past two seconds.
    let principal = netplan_engine::retry::within(
        tokio::time::Instant::now() + std::time::Duration::from_secs(2),
        p.principal(),
    );
    let (zones, offerings, usage, limits, principal) =
        tokio::join!(zones(p), offerings, usage(p), limits, principal);
    let (zones, offerings, usage) = (zones?, offerings?, usage?);
    let mut quotas = vec![];
    for ((kind, per_zone, _, code, name, _), (limit, source)) in QUOTAS.iter().zip(limits) {
        let (has, has_per_zone) = match usage.get(kind) {
            Some((n, by_zone)) => (*n, by_zone.clone()),
            None => (0, BTreeMap::new()),
        };
        quotas.push(Quota {
            kind: *kind,
            per_zone: *per_zone,
            name: name.to_string(),
            code: code.to_string(),
            limit,
            source,
            has,
            has_per_zone,
        });
    }
    Ok(Account {
        region: p.region.clone(),
        zones,
        offerings,
        quotas,
        principal,
    })
}

/// Every zone of the region this account sees, usable or not.
async fn zones(p: &AwsProvider) -> Result<Vec<Zone>, ProviderError> {
    let out = p
        .api
        .send(Call::ec2("DescribeAvailabilityZones", Effect::Read), || {
            p.ec2.describe_availability_zones().send()
        })
        .await?;
    Ok(out
        .availability_zones()
        .iter()
        .filter_map(|z| {
            let usable = z.state().map(|s| s.as_str()) == Some("available")
                && z.zone_type().unwrap_or("availability-zone") == "availability-zone"
                && z.opt_in_status()
                    .map(|s| s.as_str())
                    .is_none_or(|s| s == "opt-in-not-required" || s == "opted-in");
            Some(Zone {
                name: z.zone_name()?.to_string(),
                id: z.zone_id().unwrap_or_default().to_string(),
                usable,
            })
        })
        .collect())
}

/// The zones (names) offering an instance type.
async fn offered(p: &AwsProvider, instance_type: &str) -> Result<BTreeSet<String>, ProviderError> {
    let found = all_pages(
        p,
        Call::ec2("DescribeInstanceTypeOfferings", Effect::Read).on([instance_type]),
        |token| {
            p.ec2
                .describe_instance_type_offerings()
                .location_type(aws_sdk_ec2::types::LocationType::AvailabilityZone)
                .filters(
                    Filter::builder()
                        .name("instance-type")
                        .values(instance_type)
                        .build(),
                )
                .set_next_token(token)
                .send()
        },
        |o| {
            o.instance_type_offerings()
                .iter()
                .filter_map(|x| x.location().map(str::to_string))
                .collect()
        },
        |o| o.next_token().map(str::to_string),
    )
    .await?;
    Ok(found.into_iter().collect())
}

type Usage = BTreeMap<Kind, (u64, BTreeMap<String, u64>)>;

/// What the account has now of each counted kind (NAT gateways per zone).
async fn usage(p: &AwsProvider) -> Result<Usage, ProviderError> {
    let (vpcs, igws, eigws, eips, nats) = futures::try_join!(
        all_pages(
            p,
            Call::ec2("DescribeVpcs", Effect::Read),
            |t| p.ec2.describe_vpcs().set_next_token(t).send(),
            |o| o.vpcs().iter().map(|_| ()).collect(),
            |o| o.next_token().map(str::to_string),
        ),
        all_pages(
            p,
            Call::ec2("DescribeInternetGateways", Effect::Read),
            |t| p.ec2.describe_internet_gateways().set_next_token(t).send(),
            |o| o.internet_gateways().iter().map(|_| ()).collect(),
            |o| o.next_token().map(str::to_string),
        ),
        all_pages(
            p,
            Call::ec2("DescribeEgressOnlyInternetGateways", Effect::Read),
            |t| {
                p.ec2
                    .describe_egress_only_internet_gateways()
                    .set_next_token(t)
                    .send()
            },
            |o| o
                .egress_only_internet_gateways()
                .iter()
                .map(|_| ())
                .collect(),
            |o| o.next_token().map(str::to_string),
        ),
        async {
            p.api
                .send(Call::ec2("DescribeAddresses", Effect::Read), || {
                    p.ec2
                        .describe_addresses()
                        .filters(Filter::builder().name("domain").values("vpc").build())
                        .send()
                })
                .await
                .map(|o| o.addresses().len())
        },
        all_pages(
            p,
            Call::ec2("DescribeNatGateways", Effect::Read),
            |t| {
                p.ec2
                    .describe_nat_gateways()
                    .filter(
                        Filter::builder()
                            .name("state")
                            .values("pending")
                            .values("available")
                            .build(),
                    )
                    .set_next_token(t)
                    .send()
            },
            |o| {
                o.nat_gateways()
                    .iter()
                    .filter_map(|n| n.subnet_id().map(str::to_string))
                    .collect()
            },
            |o| o.next_token().map(str::to_string),
        ),
    )?;
    let mut nat_zones: BTreeMap<String, u64> = BTreeMap::new();
    if !nats.is_empty() {
        let subnets: BTreeSet<String> = nats.iter().cloned().collect();
        let zone_of: BTreeMap<String, String> = p
            .api
            .send(
                Call::ec2("DescribeSubnets", Effect::Read).on(subnets.iter()),
                || {
                    p.ec2
                        .describe_subnets()
                        .filters(
                            Filter::builder()
                                .name("subnet-id")
                                .set_values(Some(subnets.iter().cloned().collect()))
                                .build(),
                        )
                        .send()
                },
            )
            .await?
            .subnets()
            .iter()
            .filter_map(|s| {
                Some((
                    s.subnet_id()?.to_string(),
                    s.availability_zone()?.to_string(),
                ))
            })
            .collect();
        for s in &nats {
            if let Some(z) = zone_of.get(s) {
                *nat_zones.entry(z.clone()).or_default() += 1;
            }
        }
    }
    let mut out = Usage::new();
    out.insert(Kind::Vpc, (vpcs.len() as u64, BTreeMap::new()));
    out.insert(Kind::InternetGateway, (igws.len() as u64, BTreeMap::new()));
    out.insert(
        Kind::EgressOnlyInternetGateway,
        (eigws.len() as u64, BTreeMap::new()),
    );
    out.insert(Kind::ElasticIp, (eips as u64, BTreeMap::new()));
    out.insert(Kind::NatGateway, (nats.len() as u64, nat_zones));
    Ok(out)
}

/// A quota's value for this account: the applied value, else AWS's default as Service Quotas says it,
/// else the documented default — and where it came from.
async fn limit(p: &AwsProvider, service: &str, code: &str, default: u64) -> (u64, String) {
    let applied = p
        .api
        .send(
            Call::quotas("GetServiceQuota", Effect::Read).on([code]),
            || {
                p.quotas
                    .get_service_quota()
                    .service_code(service)
                    .quota_code(code)
                    .send()
            },
        )
        .await;
    let why = match applied {
        Ok(o) => match o.quota().and_then(|q| q.value()) {
            Some(v) => return (v as u64, "Service Quotas".into()),
            None => "Service Quotas gave no value".to_string(),
        },
        // Only an identity denied the account's value may still read AWS's default; a quota
        // Service Quotas does not know (NoSuchResource) has no default there either.
        Err(e) if e.kind != netplan_engine::provider::ErrorKind::Denied => {
            let why = e.code.clone().unwrap_or_else(|| format!("{:?}", e.kind));
            return (
                default,
                format!("AWS's documented default; Service Quotas answered {why}"),
            );
        }
        Err(e) => e.code.clone().unwrap_or_else(|| format!("{:?}", e.kind)),
    };
    let aws_default = p
        .api
        .send(
            Call::quotas("GetAWSDefaultServiceQuota", Effect::Read).on([code]),
            || {
                p.quotas
                    .get_aws_default_service_quota()
                    .service_code(service)
                    .quota_code(code)
                    .send()
            },
        )
        .await;
    if let Ok(o) = aws_default {
        if let Some(v) = o.quota().and_then(|q| q.value()) {
            return (v as u64, "AWS's default, from Service Quotas".into());
        }
    }
    (
        default,
        format!("AWS's documented default; Service Quotas answered {why}"),
    )
}
