//! Who a beneficiary is: the personal identification number, the province codes in
//! it, and how Vietnamese names are compared (`identity.md`).
//!
//! Identity is keyed on the number and the birth date; the name is a secondary
//! check. Everything here is pure: no I/O, no clock.
//!
//! Logs never carry a raw identification number: use [`masked`].

pub mod id_number;
pub mod names;
pub mod provinces;

/// How many trailing characters [`masked`] leaves readable.
const SHOWN: usize = 3;

/// An identification number for logs: every character but the last three
/// replaced by `*`, e.g. `*********123`.
///
/// Works on any input (a 9-digit CMND number, a malformed field) and keeps its
/// length, which helps tell a CMND number from a truncated one. Input of three
/// characters or fewer is masked entirely: it cannot be a number, and showing
/// the whole of it would show all there is.
pub fn masked(id_number: &str) -> String {
    let len = id_number.chars().count();
    let hidden = if len > SHOWN { len - SHOWN } else { len };
    id_number.chars().enumerate().map(|(i, c)| if i < hidden { '*' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_shows_only_the_last_three_characters() {
        assert_eq!(masked("001198000123"), "*********123");
        assert_eq!(masked("123456789"), "******789");
        assert_eq!(masked("1234"), "*234");
        assert_eq!(masked("123"), "***");
        assert_eq!(masked(""), "");
        assert_eq!(masked("0011980001２３"), "*********1２３", "counts characters, not bytes");
    }
}
