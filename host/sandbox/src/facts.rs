//! The facts a plug-in decides on: the paid month and the person's fields, in
//! the vocabulary of `formats.md` (the public file formats), so that their serde
//! forms *are* those formats: a stored input reads as a plug-in test case.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar month, written `YYYY-MM`: the paid month of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: u16,
    month: u8,
}

impl Month {
    /// The month `month` (1-12) of `year` (1900-9999), or `None` outside those.
    pub fn new(year: u16, month: u8) -> Option<Month> {
        ((1..=12).contains(&month) && (1900..=9999).contains(&year)).then_some(Month { year, month })
    }

    /// The year, e.g. 2024.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month of the year, 1-12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The first day: the platform takes ages on it (social-assistance.md).
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year.into(), self.month.into(), 1).expect("valid month")
    }

    /// The month a date falls in.
    pub fn of(date: NaiveDate) -> Month {
        Month { year: date.year() as u16, month: date.month() as u8 }
    }

    /// The month before this one.
    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month { year: self.year - 1, month: 12 }
        } else {
            Month { year: self.year, month: self.month - 1 }
        }
    }

    /// The month after this one.
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month { year: self.year + 1, month: 1 }
        } else {
            Month { year: self.year, month: self.month + 1 }
        }
    }

    /// This month through `last`, in order; empty when `last` is earlier.
    pub fn through(self, last: Month) -> impl Iterator<Item = Month> {
        std::iter::successors(Some(self), |m| Some(m.next())).take_while(move |m| *m <= last)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = String;

    fn from_str(s: &str) -> Result<Month, String> {
        let expected = || format!("expected a month as YYYY-MM, e.g. 2024-09, found {s:?}");
        let (y, m) = s.split_once('-').ok_or_else(expected)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(expected());
        }
        let (y, m) = (y.parse().map_err(|_| expected())?, m.parse().map_err(|_| expected())?);
        Month::new(y, m).ok_or_else(expected)
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Month, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// Declares a closed vocabulary whose text form is fixed by `formats.md`: an
/// enum whose variants serialise, parse and print as the given text. The host
/// declares its own vocabularies (channels, outcomes) with it too; the crate
/// that uses it depends on `serde` with `derive`.
#[doc(hidden)]
#[macro_export]
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[doc = concat!("`", $text, "`")] #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The text form, as `formats.md` spells it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The accepted spellings, for error messages.
            pub fn expected() -> String {
                let names: Vec<&str> = vec![$($text),+];
                format!("one of {}", names.join(", "))
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<$name, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!("expected {}, found {s:?}", $name::expected())),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// A person's sex, as the registry records it.
    Sex { Male = "male", Female = "female" }
);
vocabulary!(
    /// Household classification on the commune's poor / near-poor lists.
    Household { None = "none", Poor = "poor", NearPoor = "near_poor" }
);
vocabulary!(
    /// Disability level, as the commune's assessment council certified it.
    Disability { None = "none", Severe = "severe", EspeciallySevere = "especially_severe" }
);
vocabulary!(
    /// Circumstances recorded at enrolment (`statuses`, `;`-separated in CSV).
    Status {
        Orphan = "orphan",
        Studying = "studying",
        Hiv = "hiv",
        SingleParent = "single_parent",
        NoSupporter = "no_supporter",
        CommunityCare = "community_care",
    }
);

/// The person facts a plug-in may read: the `person` of a plug-in test case
/// (`formats.md`). A field is `None` when the plug-in did not declare it: the
/// host sends only what a plug-in reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonFacts {
    /// From the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
    /// From the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    /// From the registry: the 3-digit code of the province the person lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residence_province: Option<String>,
    /// `Some(None)`: alive (serialised as `null`); `None`: not declared (absent).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub death_date: Option<Option<NaiveDate>>,
    /// From the enrolment, as are the fields below: the commune's poor / near-poor lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub household: Option<Household>,
    /// The certified disability level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disability: Option<Disability>,
    /// Whether the person receives a pension or a monthly social-insurance benefit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_pension: Option<bool>,
    /// Whether the person lives in an especially difficult commune of an ethnic-minority or
    /// mountainous area.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficult_commune: Option<bool>,
    /// The circumstances recorded at enrolment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Vec<Status>>,
    /// The number of children the person raises (single parents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependent_children: Option<u32>,
}

/// `Option<Option<T>>` where an absent field is `None` and `null` is `Some(None)`.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_parses_and_prints() {
        let m: Month = "2024-09".parse().unwrap();
        assert_eq!(m.to_string(), "2024-09");
        assert_eq!(m.first_day(), NaiveDate::from_ymd_opt(2024, 9, 1).unwrap());
        assert_eq!("2024-01".parse::<Month>().unwrap().previous().to_string(), "2023-12");
        assert_eq!("2023-12".parse::<Month>().unwrap().next().to_string(), "2024-01");
        let months: Vec<String> =
            "2023-11".parse::<Month>().unwrap().through("2024-02".parse().unwrap()).map(|m| m.to_string()).collect();
        assert_eq!(months, ["2023-11", "2023-12", "2024-01", "2024-02"]);
        assert_eq!(m.through(m.previous()).count(), 0);
        for bad in ["2024-13", "2024-9", "24-09", "2024/09", ""] {
            assert!(bad.parse::<Month>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn vocabulary_uses_format_spellings() {
        assert_eq!("near_poor".parse::<Household>().unwrap(), Household::NearPoor);
        let err = "nearpoor".parse::<Household>().unwrap_err();
        assert!(err.contains("none, poor, near_poor"), "{err}");
        assert_eq!(serde_json::to_string(&Status::SingleParent).unwrap(), "\"single_parent\"");
    }

    #[test]
    fn person_facts_distinguish_alive_from_undeclared() {
        let alive = PersonFacts { death_date: Some(None), ..Default::default() };
        let json = serde_json::to_string(&alive).unwrap();
        assert_eq!(json, r#"{"death_date":null}"#);
        assert_eq!(serde_json::from_str::<PersonFacts>(&json).unwrap(), alive);
        let undeclared = PersonFacts::default();
        assert_eq!(serde_json::to_string(&undeclared).unwrap(), "{}");
        assert_eq!(serde_json::from_str::<PersonFacts>("{}").unwrap(), undeclared);
    }
}
