//! The schema of every kind: the keys a config may set, their types and defaults, which changes force a
//! replacement (and in which order), and which attributes only exist after apply.
//!
//! This table is netplan's own knowledge of AWS; the config parser, the planner and the providers all
//! read it, so a kind is described in exactly one place.

use crate::addr::Kind;

pub mod json;
pub mod reference;

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
    /// A number (integer or decimal) from 0 up.
    Amount,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub doc: &'static str,
    /// The value netplan uses when the key is not written, as TOML (`true`, `128`, `"gateway"`);
    /// a default that depends on other keys is said in `doc` instead.
    pub default: Option<&'static str>,
}

const fn f(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: false,
        doc,
        default: None,
    }
}
const fn req(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: true,
        doc,
        default: None,
    }
}

impl Field {
    /// The same field with a default (TOML).
    const fn or(self, default: &'static str) -> Field {
        Field {
            default: Some(default),
            ..self
        }
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
    /// What a table of this kind is, in a sentence (editors show it; docs/config.md opens with it).
    pub about: &'static str,
    /// A short, valid example of the table.
    pub example: &'static str,
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
        about: "The \"VPC and more\" network of the AWS guide: a VPC (optionally dual-stack), public and private subnets over its AZs, an internet gateway, NAT gateways (or NAT instances) with Elastic IPs, an egress-only internet gateway, route tables and the S3 gateway endpoint. Expands into plain resources with stable addresses (`netplan graph` shows them).",
        example: "[network.main]\ncidr = \"10.0.0.0/16\"\nipv6 = true\nazs = 2\nnat_gateways = \"per_az\"\n",
        fields: &[
            req("cidr", Ty::Cidr, "the VPC's IPv4 block, e.g. 10.0.0.0/16"),
            f("ipv6", Ty::Bool, "add an Amazon-provided /56")
            .or("false"),
            f("azs", Ty::Azs, "a count (chosen from the account's zones where everything placed there runs, pinned in the state), or a list of AZ names or AZ IDs")
            .or("2"),
            f(
                "public_subnets",
                Ty::CountOrCidrs,
                "a count (carved from cidr; default: one per AZ) or a list of CIDRs",
            ),
            f(
                "private_subnets",
                Ty::CountOrCidrs,
                "a count (carved from cidr; default: one per AZ) or a list of CIDRs",
            ),
            f(
                "nat_gateways",
                Ty::Enum(NAT_MODES),
                "NAT gateways: none, one for the network, or one per AZ (default: per_az when there are public and private subnets, else none)",
            ),
            f(
                "nat_type",
                Ty::Enum(NAT_TYPES),
                "NAT gateways, or NAT instances (cheaper; an EC2 instance per NAT)",
            )
            .or("\"gateway\""),
            f(
                "nat_instance_type",
                Ty::Str,
                "the NAT instances' type, with nat_type = \"instance\"",
            )
            .or("\"t4g.nano\""),
            f("egress_only_igw", Ty::Bool, "an egress-only internet gateway for IPv6 out (default: the same as ipv6)"),
            f("s3_endpoint", Ty::Bool, "the free S3 gateway endpoint on the private route tables")
            .or("true"),
            f("dns_hostnames", Ty::Bool, "DNS hostnames for the VPC's instances")
            .or("true"),
            f("dns_support", Ty::Bool, "the VPC's DNS resolver (functions resolve names through it)")
            .or("true"),
        ],
        force_new: &[],
        computed: &[],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::Function,
        about: "A Lambda function attached to a network's private subnets, with a security group that lets it out and an execution role with AWSLambdaVPCAccessExecutionRole.",
        example: "[function.probe]\nnetwork = \"network.main\"\nruntime = \"python3.13\"\nhandler = \"lambda_function.lambda_handler\"\nsource = \"functions/probe\"\n",
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
                "the Lambda function name, default: the stack name, a dash and the table name",
            ),
            f(
                "memory",
                Ty::Int {
                    min: 128,
                    max: 10240,
                },
                "MB",
            )
            .or("128"),
            f("timeout", Ty::Int { min: 1, max: 900 }, "seconds")
            .or("3"),
            f("ipv6_dual_stack", Ty::Bool, "allow IPv6 traffic")
            .or("false"),
            f(
                "internet",
                INTERNET,
                "must reach the internet: true, false (checks become information) or \"ipv6\" (IPv6 only, no NAT needed)",
            )
            .or("true"),
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
            )
            .or("false"),
        ],
        force_new: &[],
        computed: &[],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::Vpc,
        about: "A VPC: an IPv4 block and, optionally, an Amazon-provided IPv6 /56.",
        example: "[vpc.main]\ncidr = \"10.0.0.0/16\"\nipv6 = true\n",
        fields: &[
            req("cidr", Ty::Cidr, "IPv4 block, /16 to /28"),
            f("ipv6", Ty::Bool, "add an Amazon-provided /56")
            .or("false"),
            f("dns_hostnames", Ty::Bool, "DNS hostnames for the VPC's instances")
            .or("true"),
            f("dns_support", Ty::Bool, "the VPC's DNS resolver (functions resolve names through it)")
            .or("true"),
        ],
        force_new: &["cidr"],
        computed: &["id", "ipv6_cidr_block", "main_route_table"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::InternetGateway,
        about: "An internet gateway, created and attached to a VPC: a route table that sends 0.0.0.0/0 to it makes its subnets public.",
        example: "[internet_gateway.main]\nvpc = \"vpc.main\"\n",
        fields: &[req("vpc", Ty::Ref(&[Kind::Vpc]), "the VPC to attach to")],
        force_new: &["vpc"],
        computed: &["id"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::EgressOnlyInternetGateway,
        about: "An egress-only internet gateway: IPv6 out, nothing in; what private subnets route ::/0 to.",
        example: "[egress_only_internet_gateway.main]\nvpc = \"vpc.main\"\n",
        fields: &[req("vpc", Ty::Ref(&[Kind::Vpc]), "the VPC")],
        force_new: &["vpc"],
        computed: &["id"],
        replace_order: ReplaceOrder::DeleteThenCreate,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::Subnet,
        about: "A subnet in one availability zone, IPv4 and optionally an IPv6 /64 of its VPC's /56.",
        example: "[subnet.private_a]\nvpc = \"vpc.main\"\ncidr = \"10.0.128.0/20\"\naz = \"us-east-1a\"\nipv6_index = 128\n",
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
        about: "An Elastic IP address (a stable public IPv4 address, for a NAT gateway or instance).",
        example: "[elastic_ip.nat_a]\n",
        fields: &[],
        force_new: &[],
        computed: &["id", "public_ip"],
        replace_order: ReplaceOrder::CreateThenDelete,
        taggable: true,
        exclusive: &[],
    },
    KindSchema {
        kind: Kind::NatGateway,
        about: "A NAT gateway in a public subnet: private subnets route 0.0.0.0/0 to it.",
        example: "[nat_gateway.a]\nsubnet = \"subnet.public_a\"\nelastic_ip = \"elastic_ip.nat_a\"\n",
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
        about: "A NAT instance: an EC2 instance that forwards and masquerades (source/destination check off, IMDSv2), cheaper than a NAT gateway; a route's target may be it.",
        example: "[nat_instance.a]\nsubnet = \"subnet.public_a\"\ninstance_type = \"t4g.nano\"\nallow_from = [\"subnet.private_a\"]\n",
        fields: &[
            req("subnet", Ty::Ref(&[Kind::Subnet]), "a public subnet"),
            f("instance_type", Ty::Str, "the EC2 instance type")
            .or("\"t4g.nano\""),
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
                "off: a NAT forwards what is not addressed to it",
            )
            .or("false"),
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
        about: "A route table, its subnets and its routes (0.0.0.0/0 and ::/0 to gateways). A subnet belongs to one route table at a time.",
        example: "[route_table.private_a]\nvpc = \"vpc.main\"\nsubnets = [\"subnet.private_a\"]\nroutes = [{ destination = \"0.0.0.0/0\", target = \"nat_gateway.a\" }]\n",
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
        about: "A gateway VPC endpoint (S3 or DynamoDB) on route tables: free, and traffic to the service stays off the NAT.",
        example: "[vpc_endpoint.s3]\nvpc = \"vpc.main\"\nservice = \"s3\"\nroute_tables = [\"route_table.private_a\"]\n",
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
        about: "A security group: stateful rules, egress and ingress.",
        example: "[security_group.lambda]\nvpc = \"vpc.main\"\ndescription = \"outbound only\"\negress = [{ protocol = \"all\", cidr = \"0.0.0.0/0\" }]\n",
        fields: &[
            req("vpc", Ty::Ref(&[Kind::Vpc]), "the VPC"),
            f("name", Ty::Str, "group name, default: the stack name, a dash and the table name"),
            f("description", Ty::Str, "group description")
            .or("\"managed by netplan\""),
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
        about: "A network ACL on subnets: stateless, first match by rule number — a request and its reply each need an entry.",
        example: "[network_acl.private]\nvpc = \"vpc.main\"\nsubnets = [\"subnet.private_a\"]\negress = [{ rule = 100, protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"0.0.0.0/0\", action = \"allow\" }]\ningress = [{ rule = 100, protocol = \"tcp\", from_port = 1024, to_port = 65535, cidr = \"0.0.0.0/0\", action = \"allow\" }]\n",
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
        about: "An IAM role Lambda assumes, with managed policies attached.",
        example: "[iam_role.lambda]\nmanaged_policies = [\"arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole\"]\n",
        fields: &[
            f("name", Ty::Str, "role name, default: the stack name, a dash and the table name"),
            f("assume_service", Ty::Str, "the service that assumes the role")
            .or("\"lambda.amazonaws.com\""),
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
        about: "A Lambda function, attached to subnets with security groups.",
        example: "[lambda_function.probe]\nruntime = \"nodejs24.x\"\nhandler = \"index.handler\"\nsource = \"functions/probe-node\"\nrole = \"iam_role.lambda\"\nsubnets = [\"subnet.private_a\", \"subnet.private_b\"]\nsecurity_groups = [\"security_group.lambda\"]\n",
        fields: &[
            req("runtime", Ty::Enum(RUNTIMES), "a Lambda runtime"),
            req("handler", Ty::Str, "e.g. index.handler"),
            req("source", Ty::Path, "a file or folder, zipped reproducibly"),
            req("role", Ty::RoleRef, "an iam_role or a role ARN"),
            f("name", Ty::Str, "function name, default: the stack name, a dash and the table name"),
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
            )
            .or("128"),
            f("timeout", Ty::Int { min: 1, max: 900 }, "seconds")
            .or("3"),
            f("ipv6_dual_stack", Ty::Bool, "allow IPv6 traffic")
            .or("false"),
            f(
                "internet",
                INTERNET,
                "must reach the internet: true, false (checks become information) or \"ipv6\" (IPv6 only, no NAT needed)",
            )
            .or("true"),
            f("environment", Ty::Env, "environment variables"),
            f(
                "detach_vpc_policy_after_create",
                Ty::Bool,
                "least privilege once Active",
            )
            .or("false"),
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

/// The common keys, described.
pub const COMMON: &[Field] = &[
    f(
        "tags",
        Ty::StrMap,
        "tags merged into the object's (netplan:stack and netplan:address are netplan's own)",
    ),
    f(
        "depends_on",
        Ty::RefList(&Kind::ALL),
        "tables this one is made after (and deleted before), besides those it references",
    ),
    f(
        "existing",
        Ty::Str,
        "the id of an object netplan uses but never changes or deletes; the table then takes no other keys",
    ),
];

/// `[stack]`: what the whole config is (parse.rs reads exactly these keys).
pub const STACK: &[Field] = &[
    req(
        "name",
        Ty::Str,
        "1 to 40 letters, digits and `-`, starting with a letter: tagged on every object as netplan:stack and the prefix of AWS names",
    ),
    f(
        "region",
        Ty::Str,
        "the AWS region; default: the AWS config chain's (or --region)",
    ),
    f(
        "state",
        Ty::Str,
        "where the state lives: a path beside the config, or s3://bucket/key (locked with S3 conditional writes, with a backup)",
    )
    .or("\"netplan.state.json\""),
    f(
        "encryption",
        Ty::Str,
        "the state encrypted at rest (AES-256-GCM): env:NAME (a 32-byte key in base64; comma-separated to rotate) or kms:KEY",
    ),
    f(
        "egress_gb_per_month",
        Ty::Amount,
        "traffic out to the internet each month, in GB: counts the per-GB NAT charges in the plan's cost",
    ),
    f(
        "tags",
        Ty::StrMap,
        "tags on every taggable object",
    ),
];

/// What a `[stack]` table is, and an example.
pub const STACK_ABOUT: &str = "The stack: its name (on every object netplan makes), its region, where its state lives and how it is kept.";
pub const STACK_EXAMPLE: &str =
    "[stack]\nname = \"lambda-egress\"\nregion = \"us-east-1\"\ntags = { owner = \"platform\" }\n";

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
