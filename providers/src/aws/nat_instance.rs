//! nat_instance: an EC2 instance that forwards and masquerades for private subnets. All of what makes it
//! a NAT is netplan's: its own security group (ingress from `allow_from`, egress anywhere), RunInstances
//! with a ClientToken — user data that turns on forwarding and masquerading and keeps them across
//! reboots, IMDSv2 required, a public IPv4 from AWS unless an Elastic IP is given —, the
//! source/destination check turned off, the Elastic IP associated, and `running` waited for. The AMI,
//! unless given, is the latest Amazon Linux 2023 for the type's architecture, from AWS's public SSM
//! parameter.
//!
//! The group is a part of the instance: it carries the create's tags and token. A create that fails
//! after making the group deletes it; a run killed between the two leaves a group whose instance never
//! came, which `find` (reconcile) deletes by that token. Delete terminates the instance, waits for
//! `terminated`, then deletes the group (its network interface lets go shortly after).

use super::api::{Call, Effect};
use super::attrs::*;
use super::create::create_once;
use super::kinds::AwsKind;
use super::security_group::SecurityGroup;
use super::{read_back, retag_ec2, AwsProvider};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, HttpTokensState, InstanceMetadataEndpointState, InstanceMetadataOptionsRequest,
    InstanceNetworkInterfaceSpecification, InstanceStateName, InstanceType, ResourceType,
};
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::Kind;
use serde_json::{json, Value as J};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub(super) struct NatInstance;

/// On the parts a NAT instance's create makes besides the instance (its security group).
pub(crate) const PART_TAG: &str = "netplan:part";

/// Turns the instance into a NAT at every boot: forwarding on (kept in sysctl.d), masquerading out of
/// the primary interface, whichever name it has (Amazon Linux 2023: ens5).
pub(crate) const USER_DATA: &str = r#"#!/bin/bash
# netplan: this instance is a NAT. Forwarding and masquerading, at every boot.
set -euo pipefail
cat > /etc/sysctl.d/90-netplan-nat.conf <<'EOF'
net.ipv4.ip_forward = 1
net.ipv4.conf.all.rp_filter = 0
EOF
sysctl --system
dnf install -y iptables-services
IFACE=$(ip route show default | awk '/default/ {print $5; exit}')
iptables -t nat -C POSTROUTING -o "$IFACE" -j MASQUERADE 2>/dev/null || iptables -t nat -A POSTROUTING -o "$IFACE" -j MASQUERADE
iptables -C FORWARD -j ACCEPT 2>/dev/null || iptables -I FORWARD -j ACCEPT
service iptables save
systemctl enable --now iptables
"#;

/// `arm64` for Graviton families (a `g` after the generation: t4g, c7gn, m6gd), else `x86_64`.
pub(crate) fn architecture(instance_type: &str) -> &'static str {
    let family = instance_type.split('.').next().unwrap_or("");
    let after_generation = family
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .trim_start_matches(|c: char| c.is_ascii_digit());
    if after_generation.contains('g') {
        "arm64"
    } else {
        "x86_64"
    }
}

/// AWS's public parameter naming the latest Amazon Linux 2023 AMI for an architecture.
pub(crate) fn ami_parameter(instance_type: &str) -> String {
    format!(
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{}",
        architecture(instance_type)
    )
}

/// The instances selected that still exist (a terminated instance stays visible for an hour).
async fn instances(
    p: &AwsProvider,
    sel: &Select,
) -> Result<Vec<aws_sdk_ec2::types::Instance>, ProviderError> {
    let mut filters = sel.filters("instance-id");
    filters.push(
        Filter::builder()
            .name("instance-state-name")
            .set_values(Some(
                ["pending", "running", "stopping", "stopped"]
                    .map(String::from)
                    .to_vec(),
            ))
            .build(),
    );
    let reservations = all_pages(
        p,
        Call::ec2("DescribeInstances", Effect::Read).on(sel.ids()),
        |token| {
            p.ec2
                .describe_instances()
                .set_filters(Some(filters.clone()))
                .set_next_token(token)
                .send()
        },
        |o| o.reservations().to_vec(),
        |o| o.next_token().map(str::to_string),
    )
    .await?;
    Ok(reservations
        .iter()
        .flat_map(|r| r.instances().iter().cloned())
        .filter(|i| sel.keeps_ec2(i.tags()))
        .filter(|i| {
            !matches!(
                i.state().and_then(|s| s.name()),
                Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
            )
        })
        .collect())
}

/// Each group's ingress CIDRs admitted for all traffic (what `allow_from` became).
async fn admitted(
    p: &AwsProvider,
    groups: Vec<String>,
) -> Result<BTreeMap<String, Vec<String>>, ProviderError> {
    if groups.is_empty() {
        return Ok(BTreeMap::new());
    }
    let found = all_pages(
        p,
        Call::ec2("DescribeSecurityGroups", Effect::Read).on(groups.clone()),
        |token| {
            p.ec2
                .describe_security_groups()
                .filters(
                    Filter::builder()
                        .name("group-id")
                        .set_values(Some(groups.clone()))
                        .build(),
                )
                .set_next_token(token)
                .send()
        },
        |o| o.security_groups().to_vec(),
        |o| o.next_token().map(str::to_string),
    )
    .await?;
    Ok(found
        .iter()
        .filter_map(|g| {
            let cidrs: BTreeSet<String> = super::security_group::flatten(g.ip_permissions())
                .into_iter()
                .filter(|(proto, ..)| proto == "-1")
                .map(|(.., cidr)| cidr)
                .collect();
            Some((g.group_id()?.to_string(), cidrs.into_iter().collect()))
        })
        .collect())
}

/// Instance id → the Elastic IP (allocation id) associated with it.
async fn elastic_ips(
    p: &AwsProvider,
    ids: Vec<String>,
) -> Result<BTreeMap<String, (String, Option<String>)>, ProviderError> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let out = p
        .api
        .send(
            Call::ec2("DescribeAddresses", Effect::Read).on(ids.clone()),
            || {
                p.ec2
                    .describe_addresses()
                    .filters(
                        Filter::builder()
                            .name("instance-id")
                            .set_values(Some(ids.clone()))
                            .build(),
                    )
                    .send()
            },
        )
        .await?;
    Ok(out
        .addresses()
        .iter()
        .filter_map(|a| {
            Some((
                a.instance_id()?.to_string(),
                (
                    a.allocation_id()?.to_string(),
                    a.association_id().map(str::to_string),
                ),
            ))
        })
        .collect())
}

fn to_object(
    i: &aws_sdk_ec2::types::Instance,
    groups: &BTreeMap<String, Vec<String>>,
    eips: &BTreeMap<String, (String, Option<String>)>,
) -> Option<ObjectState> {
    let id = i.instance_id()?;
    let mut a = JsonAttrs::new();
    a.insert("subnet".into(), json!(i.subnet_id()));
    a.insert(
        "instance_type".into(),
        json!(i.instance_type().map(|t| t.as_str())),
    );
    a.insert("ami".into(), json!(i.image_id()));
    let primary = i
        .network_interfaces()
        .iter()
        .find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0))
        .or_else(|| i.network_interfaces().first());
    if let Some(eni) = primary.and_then(|n| n.network_interface_id()) {
        a.insert("eni".into(), json!(eni));
    }
    a.insert("private_ip".into(), json!(i.private_ip_address()));
    if let Some(ip) = i.public_ip_address() {
        a.insert("public_ip".into(), json!(ip));
    }
    a.insert(
        "source_dest_check".into(),
        json!(i.source_dest_check().unwrap_or(true)),
    );
    a.insert(
        "state".into(),
        json!(i.state().and_then(|s| s.name()).map(|n| n.as_str())),
    );
    if let Some(g) = group_of(i) {
        a.insert("security_group".into(), json!(g));
        a.insert(
            "allow_from".into(),
            json!(groups.get(g).cloned().unwrap_or_default()),
        );
    }
    if let Some((allocation, _)) = eips.get(id) {
        a.insert("elastic_ip".into(), json!(allocation));
    }
    a.insert("tags".into(), ec2_user_tags(i.tags()));
    Some(object(id, a).owned_by(ec2_pairs(i.tags())))
}

/// The instance's security group (AWS lists it on the instance and on its interface; an emulator may
/// only on the interface).
fn group_of(i: &aws_sdk_ec2::types::Instance) -> Option<&str> {
    i.security_groups()
        .iter()
        .find_map(|g| g.group_id())
        .or_else(|| {
            i.network_interfaces()
                .iter()
                .flat_map(|n| n.groups())
                .find_map(|g| g.group_id())
        })
}

/// The group a NAT instance's create makes: named after the stack, the instance and the create.
fn group_request(req: &CreateRequest, vpc: &str) -> CreateRequest {
    let mut attrs = JsonAttrs::new();
    attrs.insert("vpc".into(), json!(vpc));
    let short: String = req.idempotency.token.chars().take(8).collect();
    attrs.insert(
        "name".into(),
        json!(format!(
            "{}-{}-nat-{short}",
            req.idempotency.stack, req.address.name
        )),
    );
    attrs.insert(
        "description".into(),
        json!(format!("netplan: NAT instance {}", req.address)),
    );
    attrs.insert(
        "egress".into(),
        json!([{ "protocol": "all", "cidr": "0.0.0.0/0" }]),
    );
    attrs.insert("ingress".into(), ingress(&req.attrs));
    // The same stack, address and token as the instance (it is found and cleaned up with it), and a
    // tag saying which part it is.
    let mut tags = req.tags.clone();
    tags.insert(PART_TAG.into(), json!("security_group"));
    CreateRequest {
        attrs,
        tags,
        progress: None,
        code: None,
        ..req.clone()
    }
}

/// `allow_from` as the group's ingress: all traffic from each CIDR.
fn ingress(a: &JsonAttrs) -> J {
    J::Array(
        texts(a, "allow_from")
            .into_iter()
            .map(|c| json!({ "protocol": "all", "cidr": c }))
            .collect(),
    )
}

async fn subnet_vpc(p: &AwsProvider, subnet: &str) -> Result<String, ProviderError> {
    let out = p
        .api
        .send(
            Call::ec2("DescribeSubnets", Effect::Read).on([subnet]),
            || p.ec2.describe_subnets().subnet_ids(subnet).send(),
        )
        .await?;
    out.subnets()
        .first()
        .and_then(|s| s.vpc_id())
        .map(str::to_string)
        .ok_or_else(|| {
            ProviderError::new(ErrorKind::NotFound, format!("subnet {subnet} not found"))
        })
}

async fn latest_ami(p: &AwsProvider, instance_type: &str) -> Result<String, ProviderError> {
    let name = ami_parameter(instance_type);
    let out = p
        .api
        .send(Call::ssm("GetParameter", Effect::Read), || {
            p.ssm.get_parameter().name(&name).send()
        })
        .await?;
    out.parameter()
        .and_then(|x| x.value())
        .map(str::to_string)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::NotFound,
                format!("SSM parameter {name} has no value"),
            )
        })
}

async fn set_source_dest_check(p: &AwsProvider, id: &str, on: bool) -> Result<(), ProviderError> {
    p.api
        .send(
            Call::ec2("ModifyInstanceAttribute", Effect::Repeatable).on([id]),
            || {
                p.ec2
                    .modify_instance_attribute()
                    .instance_id(id)
                    .source_dest_check(
                        aws_sdk_ec2::types::AttributeBooleanValue::builder()
                            .value(on)
                            .build(),
                    )
                    .send()
            },
        )
        .await?;
    Ok(())
}

async fn associate(p: &AwsProvider, id: &str, allocation: &str) -> Result<(), ProviderError> {
    let current = elastic_ips(p, vec![id.to_string()]).await?;
    if current.get(id).is_some_and(|(a, _)| a == allocation) {
        return Ok(());
    }
    p.api
        .send(
            Call::ec2("AssociateAddress", Effect::Repeatable).on([id, allocation]),
            || {
                p.ec2
                    .associate_address()
                    .allocation_id(allocation)
                    .instance_id(id)
                    .allow_reassociation(false)
                    .send()
            },
        )
        .await?;
    Ok(())
}

/// Waits for the instance to reach `running` (a few seconds to a minute on AWS).
async fn wait_running(p: &AwsProvider, id: &str, req: &CreateRequest) -> Result<(), ProviderError> {
    super::wait::wait_for(
        p,
        "waiting for the NAT instance to run",
        &req.address,
        &req.progress,
        netplan_engine::retry::WAIT,
        || async {
            let seen = instances(p, &Select::one(id)).await?;
            match seen.first().and_then(|i| i.state()).and_then(|s| s.name()) {
                Some(InstanceStateName::Running) => Ok(Some(())),
                Some(InstanceStateName::Pending) | None => Ok(None),
                Some(other) => Err(ProviderError::new(
                    ErrorKind::Failed,
                    format!("NAT instance {id} is {} instead of running", other.as_str()),
                )),
            }
        },
    )
    .await
}

/// The network interfaces of a terminated instance. AWS deletes the primary one (DeleteOnTermination)
/// shortly after `terminated`; one still there is deleted here (an emulator keeps it forever), and one
/// AWS still calls in use is waited for.
async fn release_interfaces(
    p: &AwsProvider,
    instance: &str,
    addr: &netplan_engine::ResourceAddr,
    progress: &Option<ProgressFn>,
) -> Result<(), ProviderError> {
    super::wait::wait_for(
        p,
        "waiting for the NAT instance's network interface to go",
        addr,
        progress,
        Duration::from_secs(5 * 60),
        || async {
            let out = p
                .api
                .send(
                    Call::ec2("DescribeNetworkInterfaces", Effect::Read).on([instance]),
                    || {
                        p.ec2
                            .describe_network_interfaces()
                            .filters(
                                Filter::builder()
                                    .name("attachment.instance-id")
                                    .values(instance)
                                    .build(),
                            )
                            .send()
                    },
                )
                .await?;
            let left: Vec<String> = out
                .network_interfaces()
                .iter()
                .filter_map(|n| n.network_interface_id().map(str::to_string))
                .collect();
            if left.is_empty() {
                return Ok(Some(()));
            }
            for eni in left {
                match p
                    .api
                    .ensure(
                        Call::ec2("DeleteNetworkInterface", Effect::Delete).on([eni.as_str()]),
                        &["InvalidNetworkInterfaceID.NotFound"],
                        || {
                            p.ec2
                                .delete_network_interface()
                                .network_interface_id(&eni)
                                .send()
                        },
                    )
                    .await
                {
                    Ok(()) => {}
                    // Still attached while AWS finishes the termination: wait.
                    Err(e) if e.code.as_deref() == Some("InvalidNetworkInterface.InUse") => {}
                    Err(e) if e.kind == ErrorKind::DependencyViolation => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(None)
        },
    )
    .await
}

/// Whether any network interface still uses the group.
async fn group_in_use(p: &AwsProvider, group: &str) -> Result<bool, ProviderError> {
    let out = p
        .api
        .send(
            Call::ec2("DescribeNetworkInterfaces", Effect::Read).on([group]),
            || {
                p.ec2
                    .describe_network_interfaces()
                    .filters(Filter::builder().name("group-id").values(group).build())
                    .send()
            },
        )
        .await?;
    Ok(!out.network_interfaces().is_empty())
}

/// Deletes the group a NAT instance's create made (by its token), when no instance of that create
/// exists: the part of a create that never finished.
pub(crate) async fn remove_orphan_group(
    p: &AwsProvider,
    key: &IdempotencyKey,
    address: &netplan_engine::ResourceAddr,
) -> Result<(), ProviderError> {
    let mine = Select::made_by(key);
    if !instances(p, &mine).await?.is_empty() {
        return Ok(());
    }
    for g in SecurityGroup.describe(p, &mine).await? {
        tracing::debug!(
            "{address}: deleting {}, the security group of a NAT instance that was never made",
            g.id
        );
        SecurityGroup
            .delete(
                p,
                &DeleteRequest {
                    address: address.clone(),
                    id: g.id.clone(),
                    attrs: g.attrs.clone(),
                    retrying_for: Duration::ZERO,
                    progress: None,
                },
            )
            .await?;
    }
    Ok(())
}

#[async_trait]
impl AwsKind for NatInstance {
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
    ) -> Result<Vec<ObjectState>, ProviderError> {
        let found = instances(p, sel).await?;
        let groups: Vec<String> = found
            .iter()
            .filter_map(group_of)
            .map(str::to_string)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let ids: Vec<String> = found
            .iter()
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect();
        let (groups, eips) = futures::try_join!(admitted(p, groups), elastic_ips(p, ids))?;
        Ok(found
            .iter()
            .filter_map(|i| to_object(i, &groups, &eips))
            .collect())
    }

    async fn create(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let a = &req.attrs;
        let subnet = required(a, "subnet")?;
        let instance_type = text(a, "instance_type").unwrap_or("t4g.nano");
        let vpc = subnet_vpc(p, subnet).await?;
        let group = SecurityGroup.create(p, &group_request(req, &vpc)).await?;
        let made = async {
            let ami = match text(a, "ami") {
                Some(ami) => ami.to_string(),
                None => latest_ami(p, instance_type).await?,
            };
            let eip = text(a, "elastic_ip");
            let user_data = {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(USER_DATA)
            };
            let mut tags = vec![ec2_tag_spec(ResourceType::Instance, req)];
            tags.push(ec2_tag_spec(ResourceType::NetworkInterface, req));
            let instance = create_once(p, self, req, || async {
                let out = p
                    .api
                    .send(
                        Call::ec2("RunInstances", Effect::Repeatable)
                            .on([subnet, group.id.as_str()]),
                        || {
                            p.ec2
                                .run_instances()
                                .image_id(&ami)
                                .instance_type(InstanceType::from(instance_type))
                                .min_count(1)
                                .max_count(1)
                                .client_token(&req.idempotency.token)
                                .network_interfaces(
                                    InstanceNetworkInterfaceSpecification::builder()
                                        .device_index(0)
                                        .subnet_id(subnet)
                                        .groups(&group.id)
                                        .associate_public_ip_address(eip.is_none())
                                        .build(),
                                )
                                .metadata_options(
                                    InstanceMetadataOptionsRequest::builder()
                                        .http_tokens(HttpTokensState::Required)
                                        .http_endpoint(InstanceMetadataEndpointState::Enabled)
                                        .build(),
                                )
                                .user_data(&user_data)
                                .set_tag_specifications(Some(tags.clone()))
                                .send()
                        },
                    )
                    .await?;
                let i = out.instances().first().ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, "RunInstances returned no instance")
                })?;
                to_object(i, &BTreeMap::new(), &BTreeMap::new()).ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, "RunInstances returned no id")
                })
            })
            .await?;
            let id = instance.id.clone();
            wait_running(p, &id, req).await?;
            if !flag(a, "source_dest_check") {
                set_source_dest_check(p, &id, false).await?;
            }
            if let Some(eip) = eip {
                associate(p, &id, eip).await?;
            }
            read_back(p, Kind::NatInstance, &id).await
        }
        .await;
        if made.is_err() {
            // No instance, no group: what this create made goes with it (an instance it made is
            // found by the engine with `find` and rolled back; the group with it).
            let _ = remove_orphan_group(p, &req.idempotency, &req.address).await;
        }
        made
    }

    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError> {
        if req.changed.iter().any(|c| c == "allow_from") {
            let group = text(&req.before, "security_group")
                .map(str::to_string)
                .or_else(|| text(&req.after, "security_group").map(str::to_string));
            let group = match group {
                Some(g) => g,
                None => read_back(p, Kind::NatInstance, &req.id)
                    .await?
                    .attrs
                    .get("security_group")
                    .and_then(J::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        ProviderError::new(
                            ErrorKind::NotFound,
                            format!("{} has no security group", req.id),
                        )
                    })?,
            };
            let mut want = JsonAttrs::new();
            want.insert(
                "egress".into(),
                json!([{ "protocol": "all", "cidr": "0.0.0.0/0" }]),
            );
            want.insert("ingress".into(), ingress(&req.after));
            super::security_group::converge(p, &group, &want).await?;
        }
        if req.changed.iter().any(|c| c == "source_dest_check") {
            set_source_dest_check(p, &req.id, flag(&req.after, "source_dest_check")).await?;
        }
        if req.changed.iter().any(|c| c == "tags") {
            retag_ec2(p, &req.id, &req.tags).await?;
        }
        read_back(p, Kind::NatInstance, &req.id).await
    }

    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
        // The group and address to let go of after: from the instance as it is (else the state's).
        let seen = self.describe(p, &Select::one(&req.id)).await?;
        let group = seen
            .first()
            .and_then(|o| o.attrs.get("security_group"))
            .or_else(|| req.attrs.get("security_group"))
            .and_then(J::as_str)
            .map(str::to_string);
        if !seen.is_empty() {
            p.api
                .send(
                    Call::ec2("TerminateInstances", Effect::Delete).on([&req.id]),
                    || p.ec2.terminate_instances().instance_ids(&req.id).send(),
                )
                .await?;
            super::wait::wait_for(
                p,
                "waiting for the NAT instance to terminate",
                &req.address,
                &req.progress,
                netplan_engine::retry::WAIT,
                || async {
                    let gone = instances(p, &Select::one(&req.id)).await?.is_empty();
                    Ok(gone.then_some(()))
                },
            )
            .await?;
        }
        // AWS lets go of a terminated instance's Elastic IP; an emulator may keep it associated.
        if let Some((_, Some(association))) =
            elastic_ips(p, vec![req.id.clone()]).await?.remove(&req.id)
        {
            p.api
                .ensure(
                    Call::ec2("DisassociateAddress", Effect::Repeatable).on([association.as_str()]),
                    &["InvalidAssociationID.NotFound"],
                    || {
                        p.ec2
                            .disassociate_address()
                            .association_id(&association)
                            .send()
                    },
                )
                .await?;
        }
        release_interfaces(p, &req.id, &req.address, &req.progress).await?;
        if let Some(group) = group {
            // The group goes with its last instance (a duplicate an unanswered create made shares it
            // with the instance kept).
            if group_in_use(p, &group).await? {
                tracing::debug!(
                    "{}: keeping {group}, still used by another interface",
                    req.address
                );
            } else {
                SecurityGroup
                    .delete(
                        p,
                        &DeleteRequest {
                            id: group,
                            attrs: JsonAttrs::new(),
                            ..req.clone()
                        },
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graviton_types_get_the_arm64_image() {
        assert_eq!(architecture("t4g.nano"), "arm64");
        assert_eq!(architecture("c7gn.large"), "arm64");
        assert_eq!(architecture("m6gd.xlarge"), "arm64");
        assert_eq!(architecture("t3.nano"), "x86_64");
        assert_eq!(architecture("g5.xlarge"), "x86_64");
        assert_eq!(architecture("m7i.large"), "x86_64");
        assert_eq!(
            ami_parameter("t4g.nano"),
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
        );
    }

    #[test]
    fn user_data_forwards_and_masquerades_at_every_boot() {
        assert!(USER_DATA.contains("net.ipv4.ip_forward = 1"));
        assert!(USER_DATA.contains("/etc/sysctl.d/"));
        assert!(USER_DATA.contains("MASQUERADE"));
        assert!(USER_DATA.contains("systemctl enable --now iptables"));
    }
}
