//! Province codes of the personal identification number (`identity.md`).
//!
//! The first three digits of a number name the province where the birth was
//! registered: one of the 63 provinces before the 2025 mergers. Numbers already
//! issued keep their code after a merger, so this list stays as it is. The codes
//! are unevenly spaced (there is no 003 or 099): a code is known only if it is in
//! the list, never because it falls in a range.

use crate::model::Month;

/// The 63 pre-merger provinces, sorted by code, names as `identity.md` spells them.
const PROVINCES: [(&str, &str); 63] = [
    ("001", "Hà Nội"),
    ("002", "Hà Giang"),
    ("004", "Cao Bằng"),
    ("006", "Bắc Kạn"),
    ("008", "Tuyên Quang"),
    ("010", "Lào Cai"),
    ("011", "Điện Biên"),
    ("012", "Lai Châu"),
    ("014", "Sơn La"),
    ("015", "Yên Bái"),
    ("017", "Hòa Bình"),
    ("019", "Thái Nguyên"),
    ("020", "Lạng Sơn"),
    ("022", "Quảng Ninh"),
    ("024", "Bắc Giang"),
    ("025", "Phú Thọ"),
    ("026", "Vĩnh Phúc"),
    ("027", "Bắc Ninh"),
    ("030", "Hải Dương"),
    ("031", "Hải Phòng"),
    ("033", "Hưng Yên"),
    ("034", "Thái Bình"),
    ("035", "Hà Nam"),
    ("036", "Nam Định"),
    ("037", "Ninh Bình"),
    ("038", "Thanh Hóa"),
    ("040", "Nghệ An"),
    ("042", "Hà Tĩnh"),
    ("044", "Quảng Bình"),
    ("045", "Quảng Trị"),
    ("046", "Thừa Thiên Huế"),
    ("048", "Đà Nẵng"),
    ("049", "Quảng Nam"),
    ("051", "Quảng Ngãi"),
    ("052", "Bình Định"),
    ("054", "Phú Yên"),
    ("056", "Khánh Hòa"),
    ("058", "Ninh Thuận"),
    ("060", "Bình Thuận"),
    ("062", "Kon Tum"),
    ("064", "Gia Lai"),
    ("066", "Đắk Lắk"),
    ("067", "Đắk Nông"),
    ("068", "Lâm Đồng"),
    ("070", "Bình Phước"),
    ("072", "Tây Ninh"),
    ("074", "Bình Dương"),
    ("075", "Đồng Nai"),
    ("077", "Bà Rịa-Vũng Tàu"),
    ("079", "TP. Hồ Chí Minh"),
    ("080", "Long An"),
    ("082", "Tiền Giang"),
    ("083", "Bến Tre"),
    ("084", "Trà Vinh"),
    ("086", "Vĩnh Long"),
    ("087", "Đồng Tháp"),
    ("089", "An Giang"),
    ("091", "Kiên Giang"),
    ("092", "Cần Thơ"),
    ("093", "Hậu Giang"),
    ("094", "Sóc Trăng"),
    ("095", "Bạc Liêu"),
    ("096", "Cà Mau"),
];

/// The province's name for a 3-digit code, `None` for a code not in the list.
pub fn name(code: &str) -> Option<&'static str> {
    PROVINCES.binary_search_by(|(c, _)| (*c).cmp(code)).ok().map(|i| PROVINCES[i].1)
}

/// Whether `code` is one of the 63 province codes.
pub fn is_known(code: &str) -> bool {
    name(code).is_some()
}

/// Provinces merged into another, with the month the merger took effect.
/// `identity.md`: "On 2025-07-01 the 63 provinces were merged into 34 (for
/// example Hải Dương into Hải Phòng)"; Resolution 202/2025/QH15 of the National
/// Assembly. Only the merger the domain facts name is listed: the codes the 34
/// merged provinces pay under are not among them, and a wrong entry would send
/// a person's benefit to the wrong province. Add a merger here with its source.
const MERGERS: [(&str, &str, (u16, u8)); 1] = [("030", "031", (2025, 7))];

/// The province a residence code belongs to in `month`: itself, or from the
/// merger on the province it was merged into. Numbers and registry records keep
/// the old code (`identity.md`), so residence is compared through this.
pub fn governing(code: &str, month: Month) -> &str {
    merged_by(code, month).map_or(code, |(into, _)| into)
}

/// When `code` was merged into another province by `month`: that province and
/// the month of the merger. A run cannot pay from a province that no longer exists.
pub fn merged_by(code: &str, month: Month) -> Option<(&'static str, Month)> {
    MERGERS.iter().find_map(|(from, into, (year, m))| {
        let since = Month::new(*year, *m).expect("valid month");
        (*from == code && month >= since).then_some((*into, since))
    })
}

/// The code as stored in the list, so that a parsed number can hold it without
/// allocating. Only for codes already known.
pub(crate) fn static_code(code: &str) -> Option<&'static str> {
    PROVINCES.binary_search_by(|(c, _)| (*c).cmp(code)).ok().map(|i| PROVINCES[i].0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::is_nfc;

    fn month(s: &str) -> Month {
        s.parse().unwrap()
    }

    #[test]
    fn hai_duong_belongs_to_hai_phong_from_july_2025() {
        // identity.md: Hải Dương was merged into Hải Phòng on 2025-07-01.
        assert_eq!(governing("030", month("2025-06")), "030");
        assert_eq!(governing("030", month("2025-07")), "031");
        assert_eq!(governing("030", month("2026-01")), "031");
        assert_eq!(governing("031", month("2025-07")), "031");
        assert_eq!(governing("001", month("2025-07")), "001");
        assert_eq!(merged_by("030", month("2025-06")), None);
        assert_eq!(merged_by("030", month("2025-08")), Some(("031", month("2025-07"))));
        for (from, into, _) in MERGERS {
            assert!(is_known(from) && is_known(into), "{from} → {into}");
        }
    }

    #[test]
    fn list_has_63_sorted_three_digit_nfc_entries() {
        // identity.md: "the 63 provinces before the 2025 mergers". Binary search
        // needs the list sorted and free of duplicates.
        assert_eq!(PROVINCES.len(), 63);
        assert!(PROVINCES.windows(2).all(|w| w[0].0 < w[1].0), "sorted, no duplicates");
        for (code, name) in PROVINCES {
            assert!(code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
            assert!(is_nfc(name), "{code} {name} is stored in NFC");
        }
    }

    #[test]
    fn names_known_codes() {
        assert_eq!(name("001"), Some("Hà Nội"));
        assert_eq!(name("030"), Some("Hải Dương"), "kept after merging into Hải Phòng (identity.md)");
        assert_eq!(name("079"), Some("TP. Hồ Chí Minh"));
        assert_eq!(name("096"), Some("Cà Mau"));
    }

    #[test]
    fn refuses_gaps_and_codes_out_of_the_list() {
        // Codes are unevenly spaced: 003 and 099 lie inside 001..096's range
        // or just past it, yet belong to no province.
        for code in ["003", "005", "099", "000", "097", "1", "01", "0001", "", "abc"] {
            assert!(!is_known(code), "{code:?}");
            assert_eq!(name(code), None, "{code:?}");
        }
    }
}
