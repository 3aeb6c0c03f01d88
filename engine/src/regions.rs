//! A built-in table of availability-zone names per region, for what has no account to ask: offline
//! `validate`, and providers that read no account (the fake). With credentials, `plan` reads the
//! account's own zones (`crate::account`); this table never refuses a name an account can have.

/// Every zone letter an account can see in each region (each account sees a subset: us-west-1 shows
/// two of a, b, c; older accounts keep retired letters such as ap-northeast-1b and ca-central-1c).
/// `azs = N` offline takes the first N, a placeholder until `plan` reads the account.
const TABLE: &[(&str, &[&str])] = &[
    ("us-east-1", &["a", "b", "c", "d", "e", "f"]),
    ("us-east-2", &["a", "b", "c"]),
    ("us-west-1", &["a", "b", "c"]),
    ("us-west-2", &["a", "b", "c", "d"]),
    ("ca-central-1", &["a", "b", "c", "d"]),
    ("sa-east-1", &["a", "b", "c"]),
    ("eu-west-1", &["a", "b", "c"]),
    ("eu-west-2", &["a", "b", "c"]),
    ("eu-west-3", &["a", "b", "c"]),
    ("eu-central-1", &["a", "b", "c"]),
    ("eu-central-2", &["a", "b", "c"]),
    ("eu-north-1", &["a", "b", "c"]),
    ("eu-south-1", &["a", "b", "c"]),
    ("ap-northeast-1", &["a", "b", "c", "d"]),
    ("ap-northeast-2", &["a", "b", "c", "d"]),
    ("ap-northeast-3", &["a", "b", "c"]),
    ("ap-southeast-1", &["a", "b", "c"]),
    ("ap-southeast-2", &["a", "b", "c"]),
    ("ap-south-1", &["a", "b", "c"]),
    ("me-central-1", &["a", "b", "c"]),
    ("af-south-1", &["a", "b", "c"]),
];

/// The AZ names of a region, or `None` for a region the table does not know.
pub fn azs(region: &str) -> Option<Vec<String>> {
    TABLE
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(r, letters)| letters.iter().map(|l| format!("{r}{l}")).collect())
}

/// The prefix of a region's AZ IDs: `us-east-1` → `use1`, `ap-northeast-2` → `apne2`,
/// `eu-central-1` → `euc1`.
pub fn zone_id_prefix(region: &str) -> Option<String> {
    let mut parts = region.split('-');
    let (geo, dir, n) = (parts.next()?, parts.next()?, parts.next()?);
    let d: String = ["north", "south", "east", "west", "central"]
        .iter()
        .fold(dir.to_string(), |acc, w| acc.replace(w, &w[..1]));
    n.chars()
        .all(|c| c.is_ascii_digit())
        .then(|| format!("{geo}{d}{n}"))
}

/// Whether `id` has the form of an AZ ID of `region` (`use1-az4`).
pub fn is_zone_id_of(id: &str, region: &str) -> bool {
    zone_id_prefix(region).is_some_and(|p| {
        id.strip_prefix(&format!("{p}-az"))
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    })
}

pub fn known_regions() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(r, _)| *r)
}

/// The letter that ends an AZ name (`us-east-1a` → `a`), used in generated addresses.
pub fn az_suffix(az: &str) -> String {
    let tail: String = az
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let tail: String = tail.chars().rev().collect();
    if tail.is_empty() {
        az.replace('-', "_")
    } else {
        tail
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_lookups() {
        assert_eq!(super::azs("us-east-1").unwrap()[1], "us-east-1b");
        assert!(super::azs("mars-1").is_none());
        assert_eq!(super::az_suffix("us-east-1c"), "c");
        assert_eq!(super::zone_id_prefix("us-east-1").as_deref(), Some("use1"));
        assert_eq!(
            super::zone_id_prefix("ap-northeast-2").as_deref(),
            Some("apne2")
        );
        assert_eq!(
            super::zone_id_prefix("eu-central-1").as_deref(),
            Some("euc1")
        );
        assert!(super::is_zone_id_of("use1-az4", "us-east-1"));
        assert!(!super::is_zone_id_of("usw2-az4", "us-east-1"));
    }
}
