//! A rule plug-in that misbehaves on purpose, for the sandbox tests.
//!
//! Its behaviour is chosen per person by `dependent_children`, so that one run
//! holds well-behaved decisions beside each kind of misbehaviour and a test can
//! show both that the misbehaviour is contained and that the rest of the run
//! goes on:
//!
//! | children | behaviour |
//! |---|---|
//! | 0 | eligible, 100,000 đồng (a plain, valid decision) |
//! | 1 | loops forever |
//! | 2 | allocates without end |
//! | 3 | panics |
//! | 4 | recurses without end |
//! | 5 | returns an amount while not eligible |
//! | 6 | returns a 1 MiB explanation |
//! | 7 | returns 100,000 reason codes |
//! | 8 | returns an absurd amount (`u64::MAX`) |
//! | 9 | returns a category that is not a code |
//! | 10 | counts its calls in a global: paid 100,000 + 1,000 × calls, so state kept across decisions would show |
//! | other | refuses to decide (`Err`) |

use core::sync::atomic::{AtomicU64, Ordering};

use ansinh_sdk::*;

/// Calls of `evaluate` in this instance: always 1 if every decision gets a fresh one.
static CALLS: AtomicU64 = AtomicU64::new(0);

pub struct Hostile;

impl Rules for Hostile {
    fn describe() -> Description {
        Description::national("hostile", "0.1.0", &["social-assistance"], &[PersonField::DependentChildren])
    }

    fn evaluate(input: &Input) -> Result<Decision, RuleError> {
        match input.person.dependent_children()? {
            0 => Ok(Decision::eligible(Vnd(100_000), "elderly_80_no_pension")),
            1 => loop {
                core::hint::black_box(());
            },
            2 => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    core::hint::black_box(&hoard);
                }
            }
            3 => panic!("hostile plug-in panics on purpose"),
            4 => Ok(Decision::eligible(Vnd(recurse(input.period.year.into())), "elderly_80_no_pension")),
            5 => Ok(Decision { amount: 1, ..Decision::not_eligible("lies") }),
            6 => Ok(Decision::eligible(Vnd(100_000), "elderly_80_no_pension").explain(&"x".repeat(1 << 20), "", "")),
            7 => Ok(Decision { reasons: vec!["x".into(); 100_000], ..Decision::not_eligible("many") }),
            8 => Ok(Decision { amount: u64::MAX, ..Decision::eligible(Vnd(1), "elderly_80_no_pension") }),
            9 => Ok(Decision::eligible(Vnd(100_000), "Không phải mã")),
            10 => {
                let calls = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
                Ok(Decision::eligible(Vnd(100_000 + 1_000 * calls), "elderly_80_no_pension"))
            }
            _ => Err(RuleError::Other("refuses on purpose".into())),
        }
    }
}

/// Recursion with no base case the optimiser can see through.
#[allow(unconditional_recursion)] // on purpose: the sandbox must stop it
fn recurse(n: u64) -> u64 {
    core::hint::black_box(recurse(core::hint::black_box(n + 1)) + 1)
}

ansinh_sdk::export!(Hostile);
