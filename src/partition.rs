//! The AWS partitions: the names a role ARN may carry and each one's DNS
//! names, in one table that settings (which names are known) and endpoint
//! (which host to call) both read; `docs/reference.md` §2.1.

/// A partition's DNS names.
#[derive(Debug, PartialEq, Eq)]
pub struct Partition {
    /// `aws`, `aws-cn`, ...
    pub name: &'static str,
    /// Region prefix that selects it; empty for `aws`, the fallback.
    pub prefix: &'static str,
    /// DNS suffix.
    pub dns: &'static str,
    /// Dual-stack DNS suffix, where there is one.
    pub dual_dns: Option<&'static str>,
    /// A region to suggest in messages.
    pub example_region: &'static str,
}

/// Every partition a role ARN may name, in the order messages list them;
/// `aws` first, the fallback whose empty prefix every region starts with.
/// The region prefixes do not overlap.
pub const PARTITIONS: &[Partition] = &[
    Partition {
        name: "aws",
        prefix: "",
        dns: "amazonaws.com",
        dual_dns: Some("api.aws"),
        example_region: "us-east-1",
    },
    Partition {
        name: "aws-cn",
        prefix: "cn-",
        dns: "amazonaws.com.cn",
        dual_dns: Some("api.amazonwebservices.com.cn"),
        example_region: "cn-north-1",
    },
    Partition {
        name: "aws-us-gov",
        prefix: "us-gov-",
        dns: "amazonaws.com",
        dual_dns: Some("api.aws"),
        example_region: "us-gov-west-1",
    },
    Partition {
        name: "aws-iso",
        prefix: "us-iso-",
        dns: "c2s.ic.gov",
        dual_dns: None,
        example_region: "us-iso-east-1",
    },
    Partition {
        name: "aws-iso-b",
        prefix: "us-isob-",
        dns: "sc2s.sgov.gov",
        dual_dns: None,
        example_region: "us-isob-east-1",
    },
    Partition {
        name: "aws-iso-e",
        prefix: "eu-isoe-",
        dns: "cloud.adc-e.uk",
        dual_dns: None,
        example_region: "eu-isoe-west-1",
    },
    Partition {
        name: "aws-iso-f",
        prefix: "us-isof-",
        dns: "csp.hci.ic.gov",
        dual_dns: None,
        example_region: "us-isof-south-1",
    },
    Partition {
        name: "aws-eusc",
        prefix: "eusc-",
        dns: "amazonaws.eu",
        dual_dns: None,
        example_region: "eusc-de-east-1",
    },
];

/// The partition a region belongs to, by its name.
pub fn of_region(region: &str) -> &'static Partition {
    if region == "aws-global" {
        return &PARTITIONS[0];
    }
    PARTITIONS[1..]
        .iter()
        .find(|p| region.starts_with(p.prefix))
        .unwrap_or(&PARTITIONS[0])
}

/// A partition by name; unknown names fall back to `aws`.
pub fn named(name: &str) -> &'static Partition {
    PARTITIONS
        .iter()
        .find(|p| p.name == name)
        .unwrap_or(&PARTITIONS[0])
}

/// Whether a role or policy ARN may name this partition.
pub fn is_known(name: &str) -> bool {
    PARTITIONS.iter().any(|p| p.name == name)
}

/// Every partition name, for messages: `aws, aws-cn, ...`.
pub fn names() -> String {
    let names: Vec<&str> = PARTITIONS.iter().map(|p| p.name).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lists_every_partition() {
        assert_eq!(
            names(),
            "aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc"
        );
    }
}
