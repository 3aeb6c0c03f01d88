//! `[function.NAME]` → a Lambda function in its network's private subnets, an outbound-only security
//! group in the network's VPC, and (unless `role` names one) an execution role with
//! AWSLambdaVPCAccessExecutionRole.

use super::{id_ref, lambda_defaults, string, tags_value, Expander, Generator};
use crate::addr::{Kind, ResourceAddr};
use crate::config::{Decl, Stack};
use crate::schema::VPC_ACCESS_POLICY;
use crate::value::{Attrs, Value};
use std::collections::BTreeMap;

fn rule(cidr: &str) -> Value {
    let mut m = BTreeMap::new();
    m.insert("protocol".to_string(), string("all"));
    m.insert("cidr".to_string(), string(cidr));
    Value::Map(m)
}

pub(super) fn expand(x: &mut Expander<'_, '_>, stack: &Stack, d: &Decl) {
    let name = &d.addr.name;
    let Some(net) = d
        .fields
        .get("network")
        .and_then(Value::as_ref)
        .map(|r| r.addr.clone())
    else {
        return;
    };
    let Some(info) = x.out.networks.get(&net).cloned() else {
        return; // a dangling reference: reported by validation with its span
    };
    let Some(vpc) = info.vpc.clone() else { return };
    let generator = Generator {
        decl: d,
        tags: tags_value(stack, &[&d.tags]),
    };
    if info.private_subnets.is_empty() {
        x.p.err(d.spans.get("network").cloned(), format!("{}: {net} has no private subnets to attach the function to", d.addr))
            .hint("set private_subnets = 2 (one per AZ) on the network: a function in a public subnet gets no internet access");
    }

    let mut egress = vec![rule("0.0.0.0/0")];
    if info.ipv6 {
        egress.push(rule("::/0"));
    }
    let mut sg = Attrs::new();
    sg.insert("vpc".into(), Value::reference(vpc, "id"));
    sg.insert("name".into(), string(&format!("{}-{name}", stack.name)));
    sg.insert(
        "description".into(),
        string(&format!("netplan: outbound only, for function {name}")),
    );
    sg.insert("egress".into(), Value::List(egress));
    sg.insert("ingress".into(), Value::List(vec![]));
    x.add(generator.make(Kind::SecurityGroup, name.clone(), sg, &[("vpc", "network")]));

    let role = match d.fields.get("role") {
        Some(v) => v.clone(),
        None => {
            let mut role = Attrs::new();
            role.insert("name".into(), string(&format!("{}-{name}", stack.name)));
            role.insert("assume_service".into(), string("lambda.amazonaws.com"));
            role.insert(
                "managed_policies".into(),
                Value::List(vec![string(VPC_ACCESS_POLICY)]),
            );
            x.add(generator.make(Kind::IamRole, name.clone(), role, &[]));
            Value::reference(ResourceAddr::new(Kind::IamRole, name), "arn")
        }
    };

    let mut a = Attrs::new();
    for k in [
        "runtime",
        "handler",
        "source",
        "name",
        "memory",
        "timeout",
        "ipv6_dual_stack",
        "internet",
        "environment",
        "detach_vpc_policy_after_create",
    ] {
        if let Some(v) = d.fields.get(k) {
            a.insert(k.into(), v.clone());
        }
    }
    if a.get("internet") == Some(&Value::str("ipv6")) && !a.contains_key("ipv6_dual_stack") {
        // IPv6-only egress needs a dual-stack function: the network's IPv6 decides (without it the
        // reachability check refuses the function and says what to set).
        a.insert("ipv6_dual_stack".into(), Value::Bool(info.ipv6));
    }
    lambda_defaults(&mut a, &format!("{}-{name}", stack.name));
    a.insert("role".into(), role);
    a.insert(
        "subnets".into(),
        Value::List(
            info.private_subnets
                .iter()
                .map(|subnet| Value::reference(subnet.clone(), "id"))
                .collect(),
        ),
    );
    a.insert(
        "security_groups".into(),
        Value::List(vec![id_ref(Kind::SecurityGroup, name)]),
    );
    let spans: Vec<(&str, &str)> = vec![
        ("runtime", "runtime"),
        ("handler", "handler"),
        ("source", "source"),
        ("memory", "memory"),
        ("timeout", "timeout"),
        ("ipv6_dual_stack", "ipv6_dual_stack"),
        ("internet", "internet"),
        ("role", "role"),
        ("subnets", "network"),
        ("security_groups", "network"),
        ("name", "name"),
        (
            "detach_vpc_policy_after_create",
            "detach_vpc_policy_after_create",
        ),
    ];
    x.add(generator.make(Kind::LambdaFunction, name.clone(), a, &spans));
}
