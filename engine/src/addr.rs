//! Resource addresses (`KIND.NAME`) and the closed set of resource kinds netplan knows.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Every kind of table a config may declare. `Network` and `Function` are high level: they expand into
/// plain resources and never reach the state file or a provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Network,
    Function,
    Vpc,
    InternetGateway,
    EgressOnlyInternetGateway,
    Subnet,
    ElasticIp,
    NatGateway,
    NatInstance,
    RouteTable,
    VpcEndpoint,
    SecurityGroup,
    NetworkAcl,
    IamRole,
    LambdaFunction,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::Network,
        Kind::Function,
        Kind::Vpc,
        Kind::InternetGateway,
        Kind::EgressOnlyInternetGateway,
        Kind::Subnet,
        Kind::ElasticIp,
        Kind::NatGateway,
        Kind::NatInstance,
        Kind::RouteTable,
        Kind::VpcEndpoint,
        Kind::SecurityGroup,
        Kind::NetworkAcl,
        Kind::IamRole,
        Kind::LambdaFunction,
    ];

    /// The low-level kinds: what the state file and providers deal in.
    pub const RESOURCES: [Kind; 13] = [
        Kind::Vpc,
        Kind::InternetGateway,
        Kind::EgressOnlyInternetGateway,
        Kind::Subnet,
        Kind::ElasticIp,
        Kind::NatGateway,
        Kind::NatInstance,
        Kind::RouteTable,
        Kind::VpcEndpoint,
        Kind::SecurityGroup,
        Kind::NetworkAcl,
        Kind::IamRole,
        Kind::LambdaFunction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Network => "network",
            Kind::Function => "function",
            Kind::Vpc => "vpc",
            Kind::InternetGateway => "internet_gateway",
            Kind::EgressOnlyInternetGateway => "egress_only_internet_gateway",
            Kind::Subnet => "subnet",
            Kind::ElasticIp => "elastic_ip",
            Kind::NatGateway => "nat_gateway",
            Kind::NatInstance => "nat_instance",
            Kind::RouteTable => "route_table",
            Kind::VpcEndpoint => "vpc_endpoint",
            Kind::SecurityGroup => "security_group",
            Kind::NetworkAcl => "network_acl",
            Kind::IamRole => "iam_role",
            Kind::LambdaFunction => "lambda_function",
        }
    }

    /// What a reader calls several of them: "NAT gateways", "functions".
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Network => "networks",
            Kind::Function | Kind::LambdaFunction => "functions",
            Kind::Vpc => "VPCs",
            Kind::InternetGateway => "internet gateways",
            Kind::EgressOnlyInternetGateway => "egress-only gateways",
            Kind::Subnet => "subnets",
            Kind::ElasticIp => "Elastic IPs",
            Kind::NatGateway => "NAT gateways",
            Kind::NatInstance => "NAT instances",
            Kind::RouteTable => "route tables",
            Kind::VpcEndpoint => "VPC endpoints",
            Kind::SecurityGroup => "security groups",
            Kind::NetworkAcl => "network ACLs",
            Kind::IamRole => "roles",
        }
    }

    pub fn is_high_level(self) -> bool {
        matches!(self, Kind::Network | Kind::Function)
    }

    /// The prefix AWS gives this kind's ids, used to check `existing = "…"` values.
    pub fn id_prefix(self) -> Option<&'static str> {
        match self {
            Kind::Vpc => Some("vpc-"),
            Kind::InternetGateway => Some("igw-"),
            Kind::EgressOnlyInternetGateway => Some("eigw-"),
            Kind::Subnet => Some("subnet-"),
            Kind::ElasticIp => Some("eipalloc-"),
            Kind::NatGateway => Some("nat-"),
            Kind::NatInstance => Some("i-"),
            Kind::RouteTable => Some("rtb-"),
            Kind::VpcEndpoint => Some("vpce-"),
            Kind::SecurityGroup => Some("sg-"),
            Kind::NetworkAcl => Some("acl-"),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Kind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

/// `KIND.NAME`, e.g. `subnet.main_private_a`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceAddr {
    pub kind: Kind,
    pub name: String,
}

impl ResourceAddr {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        ResourceAddr {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

/// Why a string is not a valid address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrError {
    NoDot,
    UnknownKind(String),
    BadName(String),
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrError::NoDot => write!(f, "a reference has the form KIND.NAME"),
            AddrError::UnknownKind(k) => write!(f, "`{k}` is not a resource kind"),
            AddrError::BadName(n) => write!(
                f,
                "`{n}` is not a valid name (letters, digits, `_` and `-`, starting with a letter)"
            ),
        }
    }
}

pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.len() <= 64
}

impl FromStr for ResourceAddr {
    type Err = AddrError;
    fn from_str(s: &str) -> Result<Self, AddrError> {
        let (kind, name) = s.split_once('.').ok_or(AddrError::NoDot)?;
        let kind = kind
            .parse::<Kind>()
            .map_err(|_| AddrError::UnknownKind(kind.to_string()))?;
        if !valid_name(name) {
            return Err(AddrError::BadName(name.to_string()));
        }
        Ok(ResourceAddr::new(kind, name))
    }
}

impl Serialize for ResourceAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResourceAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|e: AddrError| serde::de::Error::custom(format!("{s}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let a: ResourceAddr = "subnet.main_private_a".parse().unwrap();
        assert_eq!(a.kind, Kind::Subnet);
        assert_eq!(a.to_string(), "subnet.main_private_a");
        assert_eq!("vpc".parse::<ResourceAddr>(), Err(AddrError::NoDot));
        assert!(matches!(
            "vpn.x".parse::<ResourceAddr>(),
            Err(AddrError::UnknownKind(_))
        ));
        assert!(matches!(
            "vpc.1x".parse::<ResourceAddr>(),
            Err(AddrError::BadName(_))
        ));
    }
}
