//! Arbitrary decisions through the host's output check (`check_output`): it
//! never panics, and what it accepts holds every promise the host relies on.

#![no_main]

use ansinh_sandbox::{DecisionOutput, Explanation, Limits, check_output};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Decision {
    eligible: bool,
    amount: u64,
    category: Option<String>,
    reasons: Vec<String>,
    explanation: Vec<(String, String, String)>,
}

fn is_code(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fuzz_target!(|d: Decision| {
    // Small limits too, so that the fuzzer reaches the size checks.
    for limits in [Limits::default(), Limits { output_bytes: 256, max_amount: 1_000, ..Limits::default() }] {
        let output = DecisionOutput {
            eligible: d.eligible,
            amount: d.amount,
            category: d.category.clone(),
            reasons: d.reasons.clone(),
            explanation: d
                .explanation
                .iter()
                .map(|(vi, en, citation)| Explanation { vi: vi.clone(), en: en.clone(), citation: citation.clone() })
                .collect(),
        };
        let Ok(checked) = check_output(output.clone(), &limits) else { continue };
        assert_eq!(checked.output, output, "the check must not alter what it accepts");
        assert!(checked.json.len() <= limits.output_bytes);
        assert!(checked.output.amount <= limits.max_amount);
        assert_eq!(checked.output.eligible, checked.output.amount > 0);
        assert!(!checked.output.eligible || checked.output.category.as_deref().is_some_and(is_code));
        assert!(checked.output.category.as_deref().is_none_or(is_code));
        assert!(checked.output.reasons.iter().all(|r| is_code(r)));
        // The stored JSON is the canonical form and reads back as the decision.
        let back: DecisionOutput = serde_json::from_str(&checked.json).expect("canonical JSON parses");
        assert_eq!(back, checked.output);
        assert_eq!(back.canonical_json(), checked.json);
    }
});
