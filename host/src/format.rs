//! How figures and runs are written for people: thousands grouped, a run named
//! in one line. One place, so that `run show`, the what-if, the reconciliation
//! and every command write them alike.

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

#[cfg(test)]
mod tests {
    #[test]
    fn groups_thousands() {
        assert_eq!(super::group(0), "0");
        assert_eq!(super::group(999), "999");
        assert_eq!(super::group(1_250_000), "1,250,000");
        assert_eq!(super::group(-1000), "-1,000");
    }
}
