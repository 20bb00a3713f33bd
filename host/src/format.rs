//! How figures, runs and text are written for people: thousands grouped, a run
//! named in one line, and text from elsewhere made harmless to a terminal. One
//! place, so that `run show`, the what-if, the reconciliation and every command
//! write them alike.
//!
//! ## Text from elsewhere
//! A plug-in's reasons and errors, a name from a file, an account's name all
//! reach an approver's terminal. A control character among them can move the
//! cursor and rewrite the totals the approver reads (`\x1b[4A\x1b[2K` goes
//! four lines up and clears one), or start a line of its own that looks like
//! the report's; a bidirectional override can show text in another order than
//! it is stored. So there are two guards, both here:
//! - [`Shown`] writes one such value with every control and bidirectional
//!   formatting character escaped, line breaks too (`\u{1b}`, `\u{a}`): used
//!   wherever a report puts one into its lines;
//! - [`terminal`] is the last step of everything a command prints (the
//!   `say!` macros of `cli`, the error that `main` prints): it escapes the same
//!   characters except the line breaks the report itself writes, so that a value
//!   that a report forgot to wrap cannot reach the terminal raw either.

use crate::identity::provinces;
use crate::store::runs::Run;

/// What a report says a run is: `12 · social-assistance · 001 Hà Nội · 2024-09 · evaluated`.
pub fn heading(run: &Run) -> String {
    let province = provinces::name(&run.province).unwrap_or("unknown province");
    let months = if run.first_period < run.period {
        format!("{} with arrears from {}", run.period, run.first_period)
    } else {
        run.period.to_string()
    };
    format!("{} · {} · {} {province} · {months} · {}", run.id, run.program, run.province, run.status.as_str())
}

/// `1234567` → `1,234,567`.
pub fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A value from a plug-in, a file or a person, as a report shows it: see the
/// module's doc. What is printed is the value itself where it holds no such
/// character, which is what every sound value does.
pub struct Shown<'a>(pub &'a str);

impl std::fmt::Display for Shown<'_> {
    /// Width and alignment apply, as to a `str` (`{:<32}`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.0.chars().any(hidden) {
            return f.pad(self.0);
        }
        let mut escaped = String::with_capacity(self.0.len() + 16);
        write_escaped(&mut escaped, self.0, |_| false)?;
        f.pad(&escaped)
    }
}

/// Everything a command prints, last: control and bidirectional formatting
/// characters escaped, except line breaks (`\n`), which the report writes
/// itself. Borrowed as it is when there is nothing to escape.
pub fn terminal(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && hidden(c)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    write_escaped(&mut out, text, |c| c == '\n').expect("writing to a String");
    std::borrow::Cow::Owned(out)
}

/// A character that changes what a terminal shows rather than being shown:
/// C0 and C1 controls and DEL (`char::is_control`), and the bidirectional
/// formatting characters (Unicode UAX #9: ALM, LRM, RLM, the embeddings,
/// overrides and isolates) that reorder what follows them ("Trojan Source").
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn write_escaped(out: &mut impl std::fmt::Write, text: &str, keep: impl Fn(char) -> bool) -> std::fmt::Result {
    for c in text.chars() {
        if hidden(c) && !keep(c) {
            write!(out, "\\u{{{:x}}}", u32::from(c))?;
        } else {
            out.write_char(c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Shown, terminal};

    #[test]
    fn text_from_elsewhere_cannot_steer_the_terminal() {
        let hostile = "ok\x1b[4A\x1b[2KTo pay: 1 VND\nforged line\u{202E}cba\u{9b}";
        assert_eq!(Shown(hostile).to_string(), r"ok\u{1b}[4A\u{1b}[2KTo pay: 1 VND\u{a}forged line\u{202e}cba\u{9b}");
        assert_eq!(terminal(hostile), "ok\\u{1b}[4A\\u{1b}[2KTo pay: 1 VND\nforged line\\u{202e}cba\\u{9b}");
        // Sound text, Vietnamese included, is shown as it is.
        let sound = "Nguyễn Thị Hoà: đủ điều kiện (Nghị định 20/2021/NĐ-CP, Điều 5)\n";
        assert!(matches!(terminal(sound), std::borrow::Cow::Borrowed(_)));
        assert_eq!(Shown(sound.trim_end()).to_string(), sound.trim_end());
        assert_eq!(format!("[{:<6}]", Shown("a\tb")), "[a\\u{9}b]");
        assert_eq!(format!("[{:<6}]", Shown("ab")), "[ab    ]");
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(super::group(0), "0");
        assert_eq!(super::group(999), "999");
        assert_eq!(super::group(1_250_000), "1,250,000");
        assert_eq!(super::group(-1000), "-1,000");
    }
}
