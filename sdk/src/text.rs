//! Explanation text without `core::fmt`.
//!
//! In a plug-in every wasm operator is fuel, and `format!` is expensive there:
//! its machinery (argument tables, dynamic dispatch, padding) cost the national
//! plug-in more than all of its rules together (two `format!` lines were 7,700
//! of a paid decision's 11,200 fuel). [`text!`](crate::text!) joins pieces
//! directly:
//!
//! ```
//! use ansinh_sdk::{Coefficient, Padded, Vnd, text};
//!
//! let line = text!("Hệ số ", Coefficient::new("2.5").to_vi_string(), " × ", Vnd(500_000), " (", Padded(7, 2), ")");
//! assert_eq!(line, "Hệ số 2,5 × 500,000 VND (07)");
//! ```

use crate::{Coefficient, Month, Vnd};

/// Something [`text!`](crate::text!) can append to a line.
pub trait Piece {
    /// Append this piece, as `Display` would write it.
    fn push_to(&self, out: &mut String);
}

/// Join pieces ([`Piece`]: strings, whole numbers, [`Vnd`], [`Coefficient`],
/// [`Month`], [`Padded`]) into a `String`, as `format!` would print them.
#[macro_export]
macro_rules! text {
    ($($piece:expr),* $(,)?) => {{
        let mut out = ::std::string::String::new();
        $( $crate::Piece::push_to(&$piece, &mut out); )*
        out
    }};
}

/// A whole number padded with zeros to a width: `Padded(9, 2)` is `09`.
#[derive(Clone, Copy, Debug)]
pub struct Padded(pub u64, pub usize);

impl Piece for &str {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Piece for String {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
}

macro_rules! whole_number_pieces {
    ($($t:ty),*) => {$(
        impl Piece for $t {
            fn push_to(&self, out: &mut String) {
                push_digits(out, u64::from(*self), 1, None);
            }
        }
    )*};
}
whole_number_pieces!(u8, u16, u32, u64);

impl Piece for Padded {
    fn push_to(&self, out: &mut String) {
        push_digits(out, self.0, self.1, None);
    }
}

/// `1,250,000 VND`, as its `Display`.
impl Piece for Vnd {
    fn push_to(&self, out: &mut String) {
        push_digits(out, self.0, 1, Some(b','));
        out.push_str(" VND");
    }
}

/// `2.5`, as its `Display`.
impl Piece for Coefficient {
    fn push_to(&self, out: &mut String) {
        self.push_text(out, b'.');
    }
}

/// `2024-09`.
impl Piece for Month {
    fn push_to(&self, out: &mut String) {
        push_digits(out, u64::from(self.year), 1, None);
        out.push('-');
        push_digits(out, u64::from(self.month), 2, None);
    }
}

/// Append `n` in decimal, at least `min_digits` long (zero-padded), with
/// `separator` between groups of three if given.
pub(crate) fn push_digits(out: &mut String, mut n: u64, min_digits: usize, separator: Option<u8>) {
    let mut buf = [b'0'; 26]; // u64::MAX: 20 digits and 6 separators
    let mut start = buf.len();
    let (mut written, mut in_group) = (0, 0);
    while n > 0 || written < min_digits.max(1) {
        if let Some(separator) = separator.filter(|_| in_group == 3) {
            start -= 1;
            buf[start] = separator;
            in_group = 0;
        }
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        written += 1;
        in_group += 1;
    }
    // ASCII digits and separators only.
    out.push_str(core::str::from_utf8(&buf[start..]).expect("ASCII"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_print_as_their_display() {
        let k = Coefficient::new("1.125");
        let line = text!("a ", 7u8, " ", 2024u16, " ", Vnd(1_250_000), " ", k, " ", Month { year: 2024, month: 9 });
        assert_eq!(line, format!("a 7 2024 {} {k} 2024-09", Vnd(1_250_000)));
        assert_eq!(text!(Padded(5, 3), "/", Padded(1234, 2), "/", 0u32), "005/1234/0");
        assert_eq!(text!(Vnd(0), ";", Vnd(999), ";", Vnd(1000)), "0 VND;999 VND;1,000 VND");
        assert_eq!(text!(u64::MAX), u64::MAX.to_string());
    }
}
