//! The schema of every kind: the keys a config may set, their types and defaults, which changes force a
//! replacement (and in which order), and which attributes only exist after apply.
//!
//! This table is netplan's own knowledge of AWS; the config parser, the planner and the providers all
//! read it, so a kind is described in exactly one place.

use crate::addr::Kind;

/// What a key's value must be.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Str,
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// An IPv4 or IPv6 CIDR block.
    Cidr,
    Enum(&'static [&'static str]),
    /// A reference `"KIND.NAME"` to one of these kinds (resolved to the target's `id`).
    Ref(&'static [Kind]),
    RefList(&'static [Kind]),
    /// A reference to an `iam_role` (resolved to its ARN) or a literal role ARN.
    RoleRef,
    StrList,
    StrMap,
    /// Environment variables: a string each, `{ from_env = "NAME" }` (read from netplan's own
    /// environment, sensitive) or `{ value = "…", sensitive = true }`.
    Env,
    /// A count of AZs or a list of AZ names.
    Azs,
    /// A count of subnets (CIDRs carved from the network's block) or a list of CIDR blocks.
    CountOrCidrs,
    /// A file or folder, relative to the config file.
    Path,
    /// A list of inline tables with these fields (routes, security group rules).
    Rules(&'static [Field]),
    /// `true`, `false` or one of these words (`internet = "ipv6"`).
    BoolOr(&'static [&'static str]),
    /// A list of CIDR blocks or references to these kinds (resolved to their `cidr`).
    Sources(&'static [Kind]),
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub doc: &'static str,
}

const fn f(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: false,
        doc,
    }
}
const fn req(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: true,
        doc,
    }
}

/// How a replacement is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaceOrder {
    /// The old object goes first: its identity (CIDR, name, attachment) cannot exist twice.
    DeleteThenCreate,
    /// The new object comes first, so dependents can move over before the old one goes.
    CreateThenDelete,
}

impl ReplaceOrder {
    pub fn describe(self) -> &'static str {
        match self {
            ReplaceOrder::DeleteThenCreate => "delete, then create",
            ReplaceOrder::CreateThenDelete => "create, then delete",
        }
    }
}

pub struct KindSchema {
    pub kind: Kind,
    pub fields: &'static [Field],
    /// Config attributes whose change forces a replacement.
    pub force_new: &'static [&'static str],
    /// Attributes only the cloud knows (`id` always): "known after apply" on create.
    pub computed: &'static [&'static str],
    pub replace_order: ReplaceOrder,
    pub taggable: bool,
    /// List attributes whose members belong to one object of this kind at a time (a subnet has one
    /// route table and one network ACL): moving a member is a handover, done by the object that takes
    /// it (job-graph rule (g)).
    pub exclusive: &'static [&'static str],
}

/// Every runtime AWS's lifecycle table names (`runtimes::LIFECYCLE`, where whether it may still be used
/// is decided; a test there keeps the two equal): a retired one is known, so a config naming it is told
/// its successor rather than "unknown value".
pub const RUNTIMES: &[&str] = &[
    "nodejs24.x",
    "nodejs22.x",
    "nodejs20.x",
    "nodejs18.x",
    "python3.14",
    "python3.13",
    "python3.12",
    "python3.11",
    "python3.10",
    "python3.9",
    "java25",
    "java21",
    "java17",
    "java11",
    "ruby3.4",
    "ruby3.3",
    "dotnet10",
    "dotnet8",
    "provided.al2023",
    "provided.al2",
];
pub const PROTOCOLS: &[&str] = &["all", "-1", "tcp", "udp", "icmp", "icmpv6"];
pub const NAT_MODES: &[&str] = &["none", "single", "per_az"];
pub const ENDPOINT_SERVICES: &[&str] = &["s3", "dynamodb"];

pub const VPC_ACCESS_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole";

const RULE_FIELDS: &[Field] = &[
    req(
        "protocol",
        Ty::Enum(PROTOCOLS),
        "all (or -1), tcp, udp, icmp, icmpv6",
    ),
    req("cidr", Ty::Cidr, "IPv4 or IPv6 block"),
    f(
        "from_port",
        Ty::Int {
            min: -1,
            max: 65535,
        },
        "first port",
    ),
    f(
        "to_port",
        Ty::Int {
            min: -1,
            max: 65535,
        },
        "last port",
    ),
    f("description", Ty::Str, "what the rule is for"),
];

const ROUTE_TARGETS: &[Kind] = &[
    Kind::InternetGateway,
    Kind::NatGateway,
    Kind::NatInstance,
    Kind::EgressOnlyInternetGateway,
];

/// `internet`: `true` (the default: IPv4, and IPv6 too when dual-stack), `false`, or `"ipv6"` (IPv6
/// only, through an egress-only gateway; IPv4 destinations unreachable by design).
pub const INTERNET: Ty = Ty::BoolOr(&["ipv6"]);

/// The NAT instance type when none is given: the smallest Graviton burstable.
pub const DEFAULT_NAT_INSTANCE_TYPE: &str = "t4g.nano";
pub const NAT_TYPES: &[&str] = &["gateway", "instance"];

/// What a reference to a kind resolves to: a route's target of a NAT instance is its network
/// interface; everything else is its id.
pub fn reference_attr(kind: Kind) -> &'static str {
    match kind {
        Kind::NatInstance => "eni",
        _ => "id",
    }
}

/// A network ACL entry: evaluated in `rule` order, the first match decides; stateless, so replies need
/// their own entries (ephemeral ports 1024-65535).
const ACL_RULE_FIELDS: &[Field] = &[
    req(
        "rule",
        Ty::Int { min: 1, max: 32766 },
        "rule number, lowest first",
    ),
    req(
        "protocol",
        Ty::Enum(PROTOCOLS),
        "all (or -1), tcp, udp, icmp, icmpv6",
    ),
    req("cidr", Ty::Cidr, "IPv4 or IPv6 block"),
    req("action", Ty::Enum(&["allow", "deny"]), "allow or deny"),
    f("from_port", Ty::Int { min: 0, max: 65535 }, "first port"),
    f("to_port", Ty::Int { min: 0, max: 65535 }, "last port"),
];

const ROUTE_FIELDS: &[Field] = &[
    req(
        "destination",
        Ty::Cidr,
        "0.0.0.0/0, ::/0 or a narrower block",
    ),
    req(
        "target",
        Ty::Ref(ROUTE_TARGETS),
        "an internet_gateway, nat_gateway, nat_instance or egress_only_internet_gateway",
    ),
];

pub static SCHEMAS: &[KindSchema] = &[
    KindSchema {
        kind: Kind::Network,
        fields: &[
            req("cidr", Ty::Cidr, "the VPC's IPv4 block, e.g. 10.0.0.0/16"),
            f("ipv6", Ty::Bool, "add an Amazon-provided /56"),
            f("azs", Ty::Azs, "a count, or a list of AZ names"),
            f(
                "public_subnets",
                Ty::CountOrCidrs,
                "a count or a list of CIDRs",
            ),
            f(
                "private_subnets",
                Ty::CountOrCidrs,
                "a count or a list of CIDRs",
            ),
            f(
                "nat_gateways",
                Ty::Enum(NAT_MODES),
                "none, single or per_az",
            ),
            f(
                "nat_type",
                Ty::Enum(NAT_TYPES),
                "gateway (default) or instance",
            ),
            f(
                "nat_instance_type",
                Ty::Str,
                "with nat_type = \"instance\": default t4g.nano",
            ),
            f("egress_only_igw", Ty::Bool, "default: same as ipv6"),
            f("s3_endpoint", Ty::Bool, "S3 gateway endpoint, default true"),
            f("dns_hostnames", Ty::Bool, "default true"),
            f("dns_support", Ty::Bool, "default true"),
        ],
        force_new: &[],
        computed: &[],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::Function,
        fields: &[
            req(
                "network",
                Ty::Ref(&[Kind::Network]),
                "the network whose private subnets it uses",
            ),
            req("runtime", Ty::Enum(RUNTIMES), "a Lambda runtime"),
            req("handler", Ty::Str, "e.g. lambda_function.lambda_handler"),
            req("source", Ty::Path, "a file or folder, zipped reproducibly"),
            f(
                "name",
                Ty::Str,
                "the Lambda function name, default STACK-NAME",
            ),
            f(
                "memory",
                Ty::Int {
                    min: 128,
                    max: 10240,
                },
                "MB",
            ),
            f("timeout", Ty::Int { min: 1, max: 900 }, "seconds"),
            f("ipv6_dual_stack", Ty::Bool, "allow IPv6 traffic"),
            f(
                "internet",
                INTERNET,
                "must reach the internet: true (default), false or \"ipv6\" (IPv6 only)",
            ),
            f(
                "role",
                Ty::RoleRef,
                "an iam_role or a role ARN; default: a created role",
            ),
            f("environment", Ty::Env, "environment variables"),
            f(
                "detach_vpc_policy_after_create",
                Ty::Bool,
                "least privilege once Active",
            ),
        ],
        force_new: &[],
        computed: &[],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::Vpc,
        fields: &[
            req("cidr", Ty::Cidr, "IPv4 block, /16 to /28"),
            f("ipv6", Ty::Bool, "add an Amazon-provided /56"),
            f("dns_hostnames", Ty::Bool, "default true"),
            f("dns_support", Ty::Bool, "default true"),
        ],
        force_new: &["cidr"],
        computed: &["id", "ipv6_cidr_block", "main_route_table"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::InternetGateway,
        fields: &[req("vpc", Ty::Ref(&[Kind::Vpc]), "the VPC to attach to")],
        force_new: &["vpc"],
        computed: &["id"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::EgressOnlyInternetGateway,
        fields: &[req("vpc", Ty::Ref(&[Kind::Vpc]), "the VPC")],
        force_new: &["vpc"],
        computed: &["id"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::Subnet,
        fields: &[
            req("vpc", Ty::Ref(&[Kind::Vpc]), "the VPC"),
            req("cidr", Ty::Cidr, "inside the VPC's block"),
            req("az", Ty::Str, "an availability zone of the region"),
            f(
                "ipv6_index",
                Ty::Int { min: 0, max: 255 },
                "the /64 number of the VPC's /56",
            ),
        ],
        force_new: &["vpc", "cidr", "az", "ipv6_index"],
        computed: &["id", "ipv6_cidr_block"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::ElasticIp,
        fields: &[],
        force_new: &[],
        computed: &["id", "public_ip"],
        replace_order: ReplaceOrder::CreateThenDelete,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::NatGateway,
        fields: &[
            req("subnet", Ty::Ref(&[Kind::Subnet]), "a public subnet"),
            f(
                "elastic_ip",
                Ty::Ref(&[Kind::ElasticIp]),
                "default: one allocated for it",
            ),
        ],
        force_new: &["subnet", "elastic_ip"],
        computed: &["id"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::NatInstance,
        fields: &[
            req("subnet", Ty::Ref(&[Kind::Subnet]), "a public subnet"),
            f("instance_type", Ty::Str, "default t4g.nano"),
            f(
                "ami",
                Ty::Str,
                "default: the latest Amazon Linux 2023 for the type's architecture",
            ),
            req(
                "allow_from",
                Ty::Sources(&[Kind::Subnet]),
                "the CIDRs or subnets whose traffic it forwards",
            ),
            f(
                "elastic_ip",
                Ty::Ref(&[Kind::ElasticIp]),
                "a stable public address (default: an address AWS assigns)",
            ),
            f(
                "source_dest_check",
                Ty::Bool,
                "default false: a NAT forwards what is not addressed to it",
            ),
        ],
        force_new: &["subnet", "instance_type", "ami", "elastic_ip"],
        computed: &[
            "id",
            "eni",
            "public_ip",
            "private_ip",
            "security_group",
            "state",
        ],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::RouteTable,
        fields: &[
            req("vpc", Ty::Ref(&[Kind::Vpc]), "the VPC"),
            f(
                "subnets",
                Ty::RefList(&[Kind::Subnet]),
                "subnets associated with it",
            ),
            f("routes", Ty::Rules(ROUTE_FIELDS), "routes"),
        ],
        force_new: &["vpc"],
        computed: &["id"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &["subnets"],
    },
    KindSchema {
        kind: Kind::VpcEndpoint,
        fields: &[
            req("vpc", Ty::Ref(&[Kind::Vpc]), "the VPC"),
            req(
                "service",
                Ty::Enum(ENDPOINT_SERVICES),
                "s3 or dynamodb (gateway endpoints)",
            ),
            f(
                "route_tables",
                Ty::RefList(&[Kind::RouteTable]),
                "route tables to add it to",
            ),
        ],
        force_new: &["vpc", "service"],
        computed: &["id", "prefix_list"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::SecurityGroup,
        fields: &[
            req("vpc", Ty::Ref(&[Kind::Vpc]), "the VPC"),
            f("name", Ty::Str, "group name, default STACK-NAME"),
            f("description", Ty::Str, "group description"),
            f("egress", Ty::Rules(RULE_FIELDS), "outbound rules"),
            f("ingress", Ty::Rules(RULE_FIELDS), "inbound rules"),
        ],
        force_new: &["vpc", "name", "description"],
        computed: &["id"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::NetworkAcl,
        fields: &[
            req("vpc", Ty::Ref(&[Kind::Vpc]), "the VPC"),
            f(
                "subnets",
                Ty::RefList(&[Kind::Subnet]),
                "subnets associated with it (taken from their current ACL)",
            ),
            f("egress", Ty::Rules(ACL_RULE_FIELDS), "outbound entries"),
            f("ingress", Ty::Rules(ACL_RULE_FIELDS), "inbound entries"),
        ],
        force_new: &["vpc"],
        computed: &["id"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &["subnets"],
    },
    KindSchema {
        kind: Kind::IamRole,
        fields: &[
            f("name", Ty::Str, "role name, default STACK-NAME"),
            f("assume_service", Ty::Str, "default lambda.amazonaws.com"),
            f("managed_policies", Ty::StrList, "policy ARNs to attach"),
        ],
        force_new: &["name", "assume_service"],
        computed: &["id", "arn"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::LambdaFunction,
        fields: &[
            req("runtime", Ty::Enum(RUNTIMES), "a Lambda runtime"),
            req("handler", Ty::Str, "e.g. index.handler"),
            req("source", Ty::Path, "a file or folder, zipped reproducibly"),
            req("role", Ty::RoleRef, "an iam_role or a role ARN"),
            f("name", Ty::Str, "function name, default STACK-NAME"),
            f("subnets", Ty::RefList(&[Kind::Subnet]), "private subnets"),
            f(
                "security_groups",
                Ty::RefList(&[Kind::SecurityGroup]),
                "security groups",
            ),
            f(
                "memory",
                Ty::Int {
                    min: 128,
                    max: 10240,
                },
                "MB",
            ),
            f("timeout", Ty::Int { min: 1, max: 900 }, "seconds"),
            f("ipv6_dual_stack", Ty::Bool, "allow IPv6 traffic"),
            f(
                "internet",
                INTERNET,
                "must reach the internet: true (default), false or \"ipv6\" (IPv6 only)",
            ),
            f("environment", Ty::Env, "environment variables"),
            f(
                "detach_vpc_policy_after_create",
                Ty::Bool,
                "least privilege once Active",
            ),
        ],
        force_new: &["name"],
        computed: &["id", "arn"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
];

/// Keys every table may carry besides its own fields.
pub const COMMON_FIELDS: &[&str] = &["tags", "depends_on", "existing"];

pub fn schema(kind: Kind) -> &'static KindSchema {
    SCHEMAS
        .iter()
        .find(|s| s.kind == kind)
        .expect("every kind has a schema")
}

/// Attributes a config sets that are intent for netplan itself and never sent to the cloud.
pub const LOCAL_ONLY: &[&str] = &["internet", "source"];

impl KindSchema {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
    pub fn forces_new(&self, attr: &str) -> bool {
        self.force_new.contains(&attr)
    }
    pub fn is_computed(&self, attr: &str) -> bool {
        self.computed.contains(&attr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_schema_and_ids_are_computed() {
        for k in Kind::ALL {
            assert_eq!(SCHEMAS.iter().filter(|s| s.kind == k).count(), 1, "{k}");
        }
        for k in Kind::RESOURCES {
            assert!(schema(k).is_computed("id"), "{k}");
            for a in schema(k).force_new {
                assert!(schema(k).field(a).is_some(), "{k}.{a}");
            }
        }
    }
}
