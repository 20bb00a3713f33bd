//! Dates, months and ages, as the platform counts them.

use crate::{Date, Month};

impl Date {
    /// The day `day` of month `month` (1-12) of `year`; not checked.
    pub const fn new(year: u16, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    /// The month this date falls in.
    pub const fn month_of(&self) -> Month {
        Month::new(self.year, self.month)
    }

    /// Completed years of age on `day` (0 before the first birthday).
    ///
    /// A person born on 29 February turns a year older on 1 March in common years.
    pub fn age_on(&self, day: Date) -> u32 {
        if day < *self {
            return 0;
        }
        let years = u32::from(day.year - self.year);
        let had_birthday = (day.month, day.day) >= (self.month, self.day);
        if had_birthday { years } else { years - 1 }
    }
}

impl Month {
    /// The month `month` (1-12) of `year`; not checked.
    pub const fn new(year: u16, month: u8) -> Month {
        Month { year, month }
    }

    /// The first day of the month: the day on which the platform takes ages
    /// (social-assistance.md, "age convention of the platform").
    pub const fn first_day(&self) -> Date {
        Date::new(self.year, self.month, 1)
    }

    /// Whether this month lies within `from ..= until` (either bound open).
    pub fn within(&self, from: Option<Month>, until: Option<Month>) -> bool {
        from.is_none_or(|f| *self >= f) && until.is_none_or(|u| *self <= u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_completed_years() {
        let born = Date::new(1944, 7, 1);
        assert_eq!(born.age_on(Date::new(2024, 6, 1)), 79);
        assert_eq!(born.age_on(Date::new(2024, 7, 1)), 80, "birthday on the first of the month");
        assert_eq!(born.age_on(Date::new(1944, 6, 30)), 0);
    }

    #[test]
    fn leap_day_birthday_turns_on_first_of_march() {
        let born = Date::new(2000, 2, 29);
        assert_eq!(born.age_on(Date::new(2001, 2, 28)), 0);
        assert_eq!(born.age_on(Date::new(2001, 3, 1)), 1);
    }

    #[test]
    fn months_order_and_ranges() {
        let m = Month::new(2024, 7);
        assert!(m > Month::new(2024, 6) && m < Month::new(2025, 1));
        assert!(m.within(Some(Month::new(2024, 7)), None));
        assert!(!m.within(None, Some(Month::new(2024, 6))));
    }
}
