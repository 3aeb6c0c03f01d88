//! `netplan policy`: the least-privilege IAM policy that plan, apply and destroy of one config need —
//! the AWS actions the provider calls for each kind the config has (one table, checked against the
//! provider's own source by a test: an action the code calls and the table lacks fails it), with
//! resources scoped where AWS allows: roles and functions by the names this stack gives them,
//! `iam:PassRole` to those roles and only for Lambda, the state's S3 objects and its KMS key, deletes of
//! EC2 objects to those carrying this stack's tag.

use netplan_engine::config::Config;
use netplan_engine::Kind;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Actions every run makes: the account read before anything is created (zones, what exists against
/// the quotas, the quotas), and who is asking.
const ALWAYS: &[&str] = &[
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeVpcs",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeEgressOnlyInternetGateways",
    "ec2:DescribeAddresses",
    "ec2:DescribeNatGateways",
    "ec2:DescribeSubnets",
    "servicequotas:GetServiceQuota",
    "servicequotas:GetAWSDefaultServiceQuota",
    "sts:GetCallerIdentity",
];

/// Tags on every EC2 object: set in the create call itself (which needs ec2:CreateTags), converged by
/// updates.
const EC2_TAGS: &[&str] = &["ec2:CreateTags", "ec2:DeleteTags", "ec2:DescribeTags"];

/// Per kind: every action its module calls, reading, creating, updating and deleting (what a delete
/// waits for included).
pub const ACTIONS: &[(Kind, &[&str])] = &[
    (
        Kind::Vpc,
        &[
            "ec2:DescribeVpcs",
            "ec2:CreateVpc",
            "ec2:ModifyVpcAttribute",
            "ec2:DescribeRouteTables",
            "ec2:AssociateVpcCidrBlock",
            "ec2:DisassociateVpcCidrBlock",
            "ec2:DeleteVpc",
            // A VPC that will not go says what holds it.
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeNatGateways",
            "ec2:DescribeInternetGateways",
        ],
    ),
    (
        Kind::Subnet,
        &[
            "ec2:DescribeSubnets",
            "ec2:CreateSubnet",
            "ec2:DeleteSubnet",
            // Deleting waits for Lambda's network interfaces (and removes those their function left).
            "ec2:DescribeNetworkInterfaces",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeNatGateways",
            "lambda:ListFunctions",
        ],
    ),
    (
        Kind::InternetGateway,
        &[
            "ec2:DescribeInternetGateways",
            "ec2:CreateInternetGateway",
            "ec2:AttachInternetGateway",
            "ec2:DetachInternetGateway",
            "ec2:DeleteInternetGateway",
        ],
    ),
    (
        Kind::EgressOnlyInternetGateway,
        &[
            "ec2:DescribeEgressOnlyInternetGateways",
            "ec2:CreateEgressOnlyInternetGateway",
            "ec2:DeleteEgressOnlyInternetGateway",
        ],
    ),
    (
        Kind::ElasticIp,
        &[
            "ec2:DescribeAddresses",
            "ec2:AllocateAddress",
            "ec2:ReleaseAddress",
        ],
    ),
    (
        Kind::NatGateway,
        &[
            "ec2:DescribeNatGateways",
            "ec2:CreateNatGateway",
            "ec2:DeleteNatGateway",
            "ec2:DescribeAddresses",
            "ec2:DisassociateAddress",
        ],
    ),
    (
        Kind::NatInstance,
        &[
            "ec2:DescribeInstances",
            "ec2:RunInstances",
            "ec2:TerminateInstances",
            "ec2:ModifyInstanceAttribute",
            "ec2:AssociateAddress",
            "ec2:DisassociateAddress",
            "ec2:DescribeAddresses",
            "ec2:DescribeSubnets",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeInstanceTypeOfferings",
            // Its own security group.
            "ec2:DescribeSecurityGroups",
            "ec2:CreateSecurityGroup",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:DeleteSecurityGroup",
            // AWS's public parameter naming the latest Amazon Linux AMI.
            "ssm:GetParameter",
        ],
    ),
    (
        Kind::RouteTable,
        &[
            "ec2:DescribeRouteTables",
            "ec2:CreateRouteTable",
            "ec2:CreateRoute",
            "ec2:ReplaceRoute",
            "ec2:DeleteRoute",
            "ec2:AssociateRouteTable",
            "ec2:ReplaceRouteTableAssociation",
            "ec2:DisassociateRouteTable",
            "ec2:DeleteRouteTable",
        ],
    ),
    (
        Kind::VpcEndpoint,
        &[
            "ec2:DescribeVpcEndpoints",
            "ec2:CreateVpcEndpoint",
            "ec2:ModifyVpcEndpoint",
            "ec2:DeleteVpcEndpoints",
        ],
    ),
    (
        Kind::SecurityGroup,
        &[
            "ec2:DescribeSecurityGroups",
            "ec2:CreateSecurityGroup",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:DeleteSecurityGroup",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DeleteNetworkInterface",
            "lambda:ListFunctions",
        ],
    ),
    (
        Kind::NetworkAcl,
        &[
            "ec2:DescribeNetworkAcls",
            "ec2:CreateNetworkAcl",
            "ec2:CreateNetworkAclEntry",
            "ec2:ReplaceNetworkAclEntry",
            "ec2:DeleteNetworkAclEntry",
            "ec2:ReplaceNetworkAclAssociation",
            "ec2:DeleteNetworkAcl",
        ],
    ),
    (
        Kind::IamRole,
        &[
            "iam:GetRole",
            "iam:ListRoles",
            "iam:ListRoleTags",
            "iam:CreateRole",
            "iam:TagRole",
            "iam:UntagRole",
            "iam:ListAttachedRolePolicies",
            "iam:AttachRolePolicy",
            "iam:DetachRolePolicy",
            "iam:DeleteRole",
        ],
    ),
    (
        Kind::LambdaFunction,
        &[
            "lambda:ListFunctions",
            "lambda:GetFunction",
            "lambda:ListTags",
            "lambda:CreateFunction",
            "lambda:TagResource",
            "lambda:UntagResource",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:DeleteFunction",
            // A VPC function: Lambda checks the caller may see its subnets and groups.
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeVpcs",
            "iam:GetRole",
            "iam:PassRole",
        ],
    ),
];

/// EC2 deletes, allowed only on objects carrying this stack's tag.
const EC2_DELETES: &[&str] = &[
    "ec2:DeleteVpc",
    "ec2:DeleteSubnet",
    "ec2:DeleteInternetGateway",
    "ec2:DetachInternetGateway",
    "ec2:DeleteEgressOnlyInternetGateway",
    "ec2:ReleaseAddress",
    "ec2:DeleteNatGateway",
    "ec2:TerminateInstances",
    "ec2:DeleteRouteTable",
    "ec2:DeleteVpcEndpoints",
    "ec2:DeleteSecurityGroup",
    "ec2:DeleteNetworkAcl",
];

/// How the policy names its resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Resources scoped where AWS allows (roles, functions, state objects, keys; tag conditions).
    Scoped,
    /// Every resource `*` and no conditions: for an emulator whose access control matches actions only.
    Actions,
}

/// The policy for `config`, whose state lives at `state` (`s3://…` or a local path) and may be
/// encrypted with `encryption` (`kms:KEY` or `env:NAME`).
pub fn for_config(config: &Config, scope: Scope) -> Value {
    let kinds: BTreeSet<Kind> = config
        .resources
        .values()
        .filter(|r| r.existing.is_none())
        .map(|r| r.addr.kind)
        .collect();
    let mut actions: BTreeSet<&str> = ALWAYS.iter().copied().collect();
    for (kind, list) in ACTIONS {
        if kinds.contains(kind) {
            actions.extend(list.iter().copied());
            if !matches!(kind, Kind::IamRole | Kind::LambdaFunction) {
                actions.extend(EC2_TAGS.iter().copied());
            }
        }
    }
    let region = config.region.clone().unwrap_or_else(|| "*".into());
    let stack = &config.stack.name;
    let roles: Vec<String> = config
        .of_kind(Kind::IamRole)
        .filter(|r| r.existing.is_none())
        .filter_map(|r| {
            r.str_attr("name")
                .map(|n| format!("arn:aws:iam::*:role/netplan/{n}"))
        })
        .collect();
    let given_roles: Vec<String> = config
        .of_kind(Kind::LambdaFunction)
        .filter_map(|f| f.str_attr("role").filter(|r| r.starts_with("arn:")))
        .map(str::to_string)
        .collect();
    let functions: Vec<String> = config
        .of_kind(Kind::LambdaFunction)
        .filter(|r| r.existing.is_none())
        .filter_map(|r| {
            r.str_attr("name")
                .map(|n| format!("arn:aws:lambda:{region}:*:function:{n}"))
        })
        .collect();
    let mut statements = vec![];
    let mut by_resource: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in &actions {
        let (service, name) = a.split_once(':').expect("service:action");
        let group = match (scope, service) {
            (Scope::Actions, _) => "*",
            (_, "iam") if *a == "iam:PassRole" => "passrole",
            (_, "iam") if name == "ListRoles" => "*",
            (_, "iam") => "roles",
            (_, "lambda") if name == "ListFunctions" => "*",
            (_, "lambda") => "functions",
            (_, "ssm") => "ssm",
            (_, "ec2") if EC2_DELETES.contains(a) => "ec2-delete",
            _ => "*",
        };
        by_resource.entry(group).or_default().push(a);
    }
    for (group, acts) in &by_resource {
        let name = match *group {
            "roles" => "NetplanRoles",
            "passrole" => "NetplanPassRoleToLambda",
            "functions" => "NetplanFunctions",
            "ssm" => "NetplanAmiParameter",
            "ec2-delete" => "NetplanDeleteOwnEc2Objects",
            _ => "NetplanAny",
        };
        let mut st = json!({
            "Sid": name,
            "Effect": "Allow",
            "Action": acts,
        });
        match *group {
            "*" => st["Resource"] = json!("*"),
            "roles" => st["Resource"] = json!(roles),
            "passrole" => {
                let mut all = roles.clone();
                all.extend(given_roles.iter().cloned());
                st["Resource"] = json!(all);
                st["Condition"] =
                    json!({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}});
            }
            "functions" => st["Resource"] = json!(functions),
            "ssm" => {
                st["Resource"] = json!(format!(
                    "arn:aws:ssm:{region}::parameter/aws/service/ami-amazon-linux-latest/*"
                ))
            }
            "ec2-delete" => {
                st["Resource"] = json!("*");
                st["Condition"] = json!({"StringEquals": {"aws:ResourceTag/netplan:stack": stack}});
            }
            _ => {}
        }
        if *group == "roles" && roles.is_empty() || *group == "functions" && functions.is_empty() {
            continue;
        }
        statements.push(st);
    }
    // The state: its object, lock and backup; its key.
    let state = config.state_location();
    if let Some(rest) = state.strip_prefix("s3://") {
        let arn = |suffix: &str| format!("arn:aws:s3:::{rest}{suffix}");
        statements.push(json!({
            "Sid": "NetplanState",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": if scope == Scope::Actions { json!("*") } else { json!([arn(""), arn(".lock"), arn(".backup")]) },
        }));
    }
    if let Some(key) = config
        .stack
        .encryption
        .as_deref()
        .and_then(|e| e.strip_prefix("kms:"))
    {
        let resource = if scope == Scope::Actions || !key.starts_with("arn:") {
            // An alias or key id is not an ARN a policy can name without the account: any key, which
            // the key's own policy narrows.
            json!("*")
        } else {
            json!(key)
        };
        statements.push(json!({
            "Sid": "NetplanStateKey",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": resource,
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Every action the policy can name.
pub fn every_action() -> BTreeSet<&'static str> {
    let mut all: BTreeSet<&str> = ALWAYS.iter().copied().collect();
    all.extend(EC2_TAGS);
    for (_, list) in ACTIONS {
        all.extend(list.iter().copied());
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action the provider's modules call when they plan, apply or destroy is in the table (an
    /// action added to the code and not here would be denied to a user holding the printed policy).
    #[test]
    fn the_table_names_every_action_the_provider_calls() {
        let sources = [
            include_str!("account.rs"),
            include_str!("vpc.rs"),
            include_str!("subnet.rs"),
            include_str!("internet_gateway.rs"),
            include_str!("egress_only_internet_gateway.rs"),
            include_str!("elastic_ip.rs"),
            include_str!("nat_gateway.rs"),
            include_str!("nat_instance.rs"),
            include_str!("route_table.rs"),
            include_str!("vpc_endpoint.rs"),
            include_str!("security_group.rs"),
            include_str!("network_acl.rs"),
            include_str!("iam_role.rs"),
            include_str!("lambda_function.rs"),
            include_str!("wait.rs"),
            include_str!("mod.rs"),
        ];
        // Called, but optional (its denial has a fallback) or not part of plan/apply/destroy.
        let not_needed = [
            "iam:GetAccountAuthorizationDetails",
            "lambda:Invoke",
            "ssm:GetParameter", // checked under NAT instances below
        ];
        let table = every_action();
        let mut missing = vec![];
        for src in sources {
            for (service, prefix) in [
                ("ec2", "Call::ec2(\""),
                ("iam", "Call::iam(\""),
                ("lambda", "Call::lambda(\""),
                ("servicequotas", "Call::quotas(\""),
                ("sts", "Call::sts(\""),
                ("ssm", "Call::ssm(\""),
            ] {
                for part in src.split(prefix).skip(1) {
                    let name: String = part.chars().take_while(|c| c.is_alphanumeric()).collect();
                    let action = format!("{service}:{name}");
                    if !table.contains(action.as_str()) && !not_needed.contains(&action.as_str()) {
                        missing.push(action);
                    }
                }
            }
        }
        missing.sort();
        missing.dedup();
        assert!(
            missing.is_empty(),
            "actions the policy table lacks: {missing:?}"
        );
        assert!(ACTIONS
            .iter()
            .any(|(k, l)| *k == Kind::NatInstance && l.contains(&"ssm:GetParameter")));
    }
}
