//! The ansinh plug-in SDK.
//!
//! A rule plug-in is a Rust crate that implements [`Rules`] for a unit struct and
//! exports it with [`export!`]. `ansinh plugin build DIR` turns the crate into a
//! WebAssembly component that imports nothing; the host runs it in a sandbox, one
//! fresh instance per decision.
//!
//! ```
//! use ansinh_sdk::*;
//!
//! struct Flat;
//!
//! impl Rules for Flat {
//!     fn describe() -> Description {
//!         Description::national("flat", "0.1.0", &["social-assistance"], &[PersonField::BirthDate])
//!     }
//!
//!     fn evaluate(input: &Input) -> Result<Decision, RuleError> {
//!         let age = input.age()?;
//!         if age >= 80 {
//!             Ok(Decision::eligible(Vnd(500_000), "elderly_80_no_pension")
//!                 .explain("Đủ 80 tuổi", "Aged 80 or over", "Decree 20/2021/ND-CP, Art. 5(5)(c)"))
//!         } else {
//!             Ok(Decision::not_eligible("under_80"))
//!         }
//!     }
//! }
//!
//! ansinh_sdk::export!(Flat);
//! # fn main() {
//! #     let mut input = Input::example();
//! #     input.person.birth_date = Some(Date::new(1940, 5, 12));
//! #     assert!(Flat::evaluate(&input).unwrap().eligible);
//! # }
//! ```
//!
//! Everything here is deterministic integer arithmetic: no floats, no clock, no I/O.

#![deny(missing_docs)]

mod arena;
mod calendar;
mod decision;
mod input;
mod money;
mod text;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "rule-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_rule_plugin",
        default_bindings_module: "ansinh_sdk::bindings",
        additional_derives: [PartialEq, Eq, PartialOrd, Ord],
    });
}

#[doc(hidden)]
pub use arena::Arena;
pub use bindings::exports::ansinh::rules::rules::{
    Date, Decision, Description, Disability, Explanation, Household, Input, Month, Person, PersonField, ScopeKind, Sex,
    Status, Verdict,
};
pub use decision::RuleError;
pub use money::{Coefficient, Vnd};
pub use text::{Padded, Piece};

/// A rule plug-in: implement this for a unit struct and pass it to [`export!`].
pub trait Rules {
    /// Name, version, scope, programmes served and the person fields read.
    fn describe() -> Description;

    /// Decide one person for one month.
    ///
    /// Return `Err` when the plug-in cannot decide, e.g. a fact it needs was not
    /// declared in [`Rules::describe`]; the host records a plug-in error.
    fn evaluate(input: &Input) -> Result<Decision, RuleError>;
}

/// Export a [`Rules`] implementation as the plug-in's component exports, and
/// install the plug-in's allocator (a bump allocator: an instance makes one
/// decision, so nothing needs freeing).
///
/// The export symbols are emitted only for WebAssembly. On a native target
/// (`cargo test` of a plug-in crate, whose `cdylib` is linked natively) they are
/// left out: names such as `ansinh:rules/rules@0.1.0#evaluate` are not valid in a
/// native linker's version script, and the `cdylib` would fail to link.
#[macro_export]
macro_rules! export {
    ($rules:ty) => {
        #[doc(hidden)]
        struct __AnsinhExport;

        impl $crate::bindings::exports::ansinh::rules::rules::Guest for __AnsinhExport {
            fn describe() -> $crate::Description {
                <$rules as $crate::Rules>::describe()
            }

            fn evaluate(input: $crate::Input) -> ::core::result::Result<$crate::Decision, String> {
                <$rules as $crate::Rules>::evaluate(&input).map_err(|e| e.to_string())
            }
        }

        #[cfg(target_arch = "wasm32")]
        $crate::bindings::__export_rule_plugin!(__AnsinhExport);

        /// One fresh instance per decision: a bump allocator that never needs
        /// to free, and never grows memory for an ordinary decision.
        #[cfg(target_arch = "wasm32")]
        #[global_allocator]
        static __ANSINH_ALLOCATOR: $crate::Arena = $crate::Arena::new();
    };
}
