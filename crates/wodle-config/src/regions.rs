//! The region lists: what the reference fans out over, and what we accept.

/// The 33 commercial regions the reference fans out over when none is
/// configured and the profile names none. The one list in the project.
///
/// Wazuh's `wodles/aws` `ALL_REGIONS` held 28 regions up to 4.x; the five
/// commercial regions opened since (`ap-east-2`, `ap-southeast-5`,
/// `ap-southeast-7`, `ca-west-1`, `mx-central-1`) complete it. Sorted.
pub const COMMERCIAL_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// Regions accepted in `<regions>` besides [`COMMERCIAL_REGIONS`]: commercial
/// regions too new for the fan-out list, GovCloud and China. They are used only
/// when named, never fanned out over.
pub const OTHER_KNOWN_REGIONS: &[&str] = &[
    "ap-southeast-6",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-east-1",
    "us-gov-west-1",
];

/// Whether `name` is a region `<regions>` accepts: one of
/// [`COMMERCIAL_REGIONS`] or [`OTHER_KNOWN_REGIONS`].
pub fn is_known_region(name: &str) -> bool {
    COMMERCIAL_REGIONS.contains(&name) || OTHER_KNOWN_REGIONS.contains(&name)
}

/// Every accepted region, sorted, as one comma-separated line for messages.
pub(crate) fn known_regions_list() -> String {
    let mut all: Vec<&str> = COMMERCIAL_REGIONS
        .iter()
        .chain(OTHER_KNOWN_REGIONS)
        .copied()
        .collect();
    all.sort_unstable();
    all.join(", ")
}

/// The reference's shape check, `^([a-z]{2}(-gov)?)-([a-z]+)-\d$`, by hand.
pub(crate) fn has_region_shape(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some((&last, rest)) = bytes.split_last() else {
        return false;
    };
    if !last.is_ascii_digit() || rest.len() < 2 || !rest[..2].iter().all(u8::is_ascii_lowercase) {
        return false;
    }
    let mut tail = &rest[2..];
    if let Some(after) = tail.strip_prefix(b"-gov") {
        // `-gov` is the optional partition marker only when a name part follows.
        if after.first() == Some(&b'-') && after.len() > 2 {
            tail = after;
        }
    }
    // What remains must be `-name-`.
    match tail {
        [b'-', middle @ .., b'-'] => {
            !middle.is_empty() && middle.iter().all(u8::is_ascii_lowercase)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commercial_list_has_33_sorted_unique_regions() {
        assert_eq!(COMMERCIAL_REGIONS.len(), 33);
        let mut sorted = COMMERCIAL_REGIONS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, COMMERCIAL_REGIONS);
    }

    #[test]
    fn commercial_list_holds_the_reference_regions() {
        // Wazuh's ALL_REGIONS (wodles/aws constants), every one of them.
        let reference = [
            "af-south-1",
            "ap-east-1",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ca-central-1",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "il-central-1",
            "me-central-1",
            "me-south-1",
            "sa-east-1",
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
        ];
        for region in reference {
            assert!(COMMERCIAL_REGIONS.contains(&region), "{region}");
        }
    }

    #[test]
    fn gov_and_china_are_known_but_not_fanned_out() {
        for region in [
            "us-gov-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "cn-northwest-1",
        ] {
            assert!(is_known_region(region), "{region}");
            assert!(!COMMERCIAL_REGIONS.contains(&region), "{region}");
        }
        for region in ["ap-southeast-6", "mx-central-1", "ca-west-1", "ap-east-2"] {
            assert!(is_known_region(region), "{region}");
        }
        assert!(!is_known_region("us-east-7"));
        assert!(!is_known_region("US-EAST-1"));
    }

    #[test]
    fn the_two_lists_do_not_overlap_and_every_name_has_the_shape() {
        for region in OTHER_KNOWN_REGIONS {
            assert!(!COMMERCIAL_REGIONS.contains(region), "{region}");
        }
        for region in COMMERCIAL_REGIONS.iter().chain(OTHER_KNOWN_REGIONS) {
            assert!(has_region_shape(region), "{region}");
        }
    }

    #[test]
    fn region_shape_follows_the_reference_pattern() {
        // `us-gov-1` matches too: `gov` is then the name part.
        for good in [
            "us-east-1",
            "us-gov-west-1",
            "xx-abc-9",
            "cn-northwest-1",
            "us-gov-1",
        ] {
            assert!(has_region_shape(good), "{good}");
        }
        for bad in [
            "",
            "us-east",
            "us-east-12",
            "use-east-1",
            "us_east_1",
            "US-EAST-1",
            "us--1",
            "us-gov-",
            "us-east-1 ",
            "u-east-1",
            "us-ea5t-1",
        ] {
            assert!(!has_region_shape(bad), "{bad}");
        }
    }

    #[test]
    fn known_list_for_messages_is_sorted_and_complete() {
        let list = known_regions_list();
        assert!(
            list.starts_with("af-south-1, ap-east-1, ap-east-2,"),
            "{list}"
        );
        assert_eq!(list.split(", ").count(), 38);
        assert!(list.contains("us-gov-west-1"));
    }
}
