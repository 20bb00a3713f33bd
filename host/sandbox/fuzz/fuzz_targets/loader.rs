//! Arbitrary bytes as a plug-in: `Sandbox::load` must return a plug-in or a
//! clean `LoadError`, never panic or abort; a plug-in that loads must make a
//! decision or a clean `PluginError` within its budget.
//!
//! Seed the corpus with real components (see README.md) so that the fuzzer
//! mutates valid ones rather than guessing the header.

#![no_main]

use std::sync::LazyLock;

use ansinh_sandbox::{Limits, Month, PersonFacts, Sandbox};
use libfuzzer_sys::fuzz_target;

/// One engine for the whole run, as in the host. A smaller fuel budget than
/// the default keeps a looping input from slowing the fuzzer down; the limits
/// are otherwise the host's.
static SANDBOX: LazyLock<Sandbox> =
    LazyLock::new(|| Sandbox::new(Limits { fuel: 1_000_000, ..Limits::default() }, None).expect("engine"));

fuzz_target!(|bytes: &[u8]| {
    let Ok(plugin) = SANDBOX.load(bytes) else { return };
    let facts = PersonFacts {
        birth_date: "1940-05-12".parse().ok(),
        sex: None,
        residence_province: Some("001".into()),
        death_date: Some(None),
        household: None,
        disability: None,
        has_pension: Some(false),
        difficult_commune: Some(false),
        statuses: Some(vec![]),
        dependent_children: Some(0),
    };
    let period: Month = "2024-09".parse().expect("a month");
    let evaluation = plugin.evaluate(&plugin.input(period, "social-assistance", "001", true, &facts));
    assert!(evaluation.fuel <= SANDBOX.limits().fuel);
});
