//! The CIDR slot formula behind "addresses are stable": a network's block is split into 16 slots (a /16
//! gives /20s, as AWS's "VPC and more" wizard does), and a carved subnet's slot depends only on its
//! tier, its AZ's position and its round (the how-manieth subnet of that tier in that AZ):
//!
//! - public: slot = round × 4 + AZ
//! - private: slot = 8 + round × 4 + AZ
//!
//! so adding an AZ or a subnet never moves an existing one. Carving covers up to 4 AZs and 2 subnets
//! per AZ and tier; beyond that, subnets are listed as CIDRs. IPv6 works the same way: a subnet's /64
//! is number `index` of the VPC's /56, public subnets from 0, private ones from 128.

use ipnet::Ipv4Net;

/// Which half of the block a subnet comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    Public,
    Private,
}

impl Tier {
    /// The config key listing or counting this tier's subnets.
    pub fn key(self) -> &'static str {
        match self {
            Tier::Public => "public_subnets",
            Tier::Private => "private_subnets",
        }
    }

    /// The word in generated names: `main_public_a`.
    pub fn label(self) -> &'static str {
        match self {
            Tier::Public => "public",
            Tier::Private => "private",
        }
    }

    fn base_slot(self) -> usize {
        match self {
            Tier::Public => 0,
            Tier::Private => 8,
        }
    }

    /// The first IPv6 /64 number of this tier.
    pub fn ipv6_base(self) -> i64 {
        match self {
            Tier::Public => 0,
            Tier::Private => 128,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotError {
    /// More than 4 AZs or 2 rounds: list the CIDRs instead.
    NotCarvable,
    /// The block is too small to hold the slot.
    BlockTooSmall,
}

/// The most AZs and rounds carving covers.
pub(crate) const MAX_AZS: usize = 4;
pub(crate) const MAX_ROUNDS: usize = 2;

/// The CIDR of the subnet of `tier` in the AZ at `az_index`, in round `round`.
pub(crate) fn cidr_slot(
    block: Ipv4Net,
    tier: Tier,
    az_index: usize,
    round: usize,
) -> Result<Ipv4Net, SlotError> {
    if az_index >= MAX_AZS || round >= MAX_ROUNDS {
        return Err(SlotError::NotCarvable);
    }
    let slot_prefix = (block.prefix_len() + 4).min(28);
    let slot = tier.base_slot() + round * MAX_AZS + az_index;
    block
        .subnets(slot_prefix)
        .ok()
        .and_then(|mut all| all.nth(slot))
        .ok_or(SlotError::BlockTooSmall)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(block: &str, tier: Tier, az: usize, round: usize) -> String {
        cidr_slot(block.parse().unwrap(), tier, az, round)
            .map(|n| n.to_string())
            .unwrap_or_else(|e| format!("{e:?}"))
    }

    #[test]
    fn a_slash_16_gives_the_wizards_slash_20s() {
        let b = "10.0.0.0/16";
        assert_eq!(at(b, Tier::Public, 0, 0), "10.0.0.0/20");
        assert_eq!(at(b, Tier::Public, 1, 0), "10.0.16.0/20");
        assert_eq!(at(b, Tier::Private, 0, 0), "10.0.128.0/20");
        assert_eq!(at(b, Tier::Private, 1, 0), "10.0.144.0/20");
        assert_eq!(at(b, Tier::Public, 0, 1), "10.0.64.0/20");
        assert_eq!(at(b, Tier::Private, 3, 1), "10.0.240.0/20");
    }

    #[test]
    fn a_slot_depends_only_on_tier_az_and_round() {
        // Whatever else the network holds, the same (tier, AZ, round) is the same CIDR.
        for (az, round) in [(0, 0), (1, 0), (2, 1), (3, 1)] {
            let first = at("10.1.0.0/16", Tier::Private, az, round);
            for _ in 0..3 {
                assert_eq!(at("10.1.0.0/16", Tier::Private, az, round), first);
            }
        }
        // And no two (tier, AZ, round) share a slot.
        let mut seen = std::collections::BTreeSet::new();
        for tier in [Tier::Public, Tier::Private] {
            for az in 0..MAX_AZS {
                for round in 0..MAX_ROUNDS {
                    assert!(seen.insert(at("10.2.0.0/16", tier, az, round)));
                }
            }
        }
        assert_eq!(seen.len(), 16);
    }

    #[test]
    fn beyond_four_azs_or_two_rounds_is_not_carved() {
        assert_eq!(at("10.0.0.0/16", Tier::Public, 4, 0), "NotCarvable");
        assert_eq!(at("10.0.0.0/16", Tier::Public, 0, 2), "NotCarvable");
    }

    #[test]
    fn small_blocks_stop_at_slash_28() {
        // A /26 splits into /28s: only 4 of them, so the private tier does not fit.
        assert_eq!(at("10.0.0.0/26", Tier::Public, 1, 0), "10.0.0.16/28");
        assert_eq!(at("10.0.0.0/26", Tier::Private, 0, 0), "BlockTooSmall");
    }
}
