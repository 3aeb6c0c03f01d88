//! A built-in table of availability-zone names per region, good enough to validate configs offline.
//! (Accounts may see a subset; `netplan check --live` sees the truth.)

const TABLE: &[(&str, &[&str])] = &[
    ("us-east-1", &["a", "b", "c", "d", "e", "f"]),
    ("us-east-2", &["a", "b", "c"]),
    ("us-west-1", &["a", "c"]),
    ("us-west-2", &["a", "b", "c", "d"]),
    ("ca-central-1", &["a", "b", "d"]),
    ("sa-east-1", &["a", "b", "c"]),
    ("eu-west-1", &["a", "b", "c"]),
    ("eu-west-2", &["a", "b", "c"]),
    ("eu-west-3", &["a", "b", "c"]),
    ("eu-central-1", &["a", "b", "c"]),
    ("eu-central-2", &["a", "b", "c"]),
    ("eu-north-1", &["a", "b", "c"]),
    ("eu-south-1", &["a", "b", "c"]),
    ("ap-northeast-1", &["a", "c", "d"]),
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
    }
}
