//! One beneficiary, one decision: verify against the registry, ask the plug-in,
//! and settle the outcome by the host's own rules, which no plug-in can
//! override.

use crate::model::{Channel, Enrolment, Month, Outcome, PersonFacts, RegistryRecord};
use crate::sandbox::{CheckedOutput, Plugin};
use crate::store::beneficiaries::Pending;
use crate::store::decisions::NewDecision;
use crate::verify::{self, Verification};

/// Decide for one beneficiary of a run.
pub fn decide(plugin: &Plugin, program: &str, province: &str, period: Month, pending: &Pending) -> NewDecision {
    let verification = verify::verify(&pending.enrolment, pending.registry.as_ref(), period);
    let mut decision = NewDecision {
        period,
        beneficiary_id: pending.id,
        outcome: Outcome::NotVerified,
        amount: 0,
        category: None,
        verification: serde_json::to_string(&verification).expect("plain data serialises"),
        plugin_hash: plugin.hash().to_string(),
        input: None,
        output: None,
        error: None,
        fuel: 0,
    };
    // Without a registry record there are no facts to decide on: the person is
    // not verified, and the plug-in is not asked.
    let Some(registry) = &pending.registry else {
        return decision;
    };
    let facts = facts(&pending.enrolment, registry);
    let input = plugin.input(period, program, province, verification.identity_confirmed(), &facts);
    let evaluation = plugin.evaluate(&input);
    decision.input = Some(input.canonical_json());
    decision.fuel = evaluation.fuel;
    match evaluation.result {
        Err(error) => {
            decision.outcome = Outcome::PluginError;
            decision.error = Some(error.to_string());
        }
        Ok(CheckedOutput { output, json }) => {
            decision.output = Some(json);
            decision.category = output.category;
            decision.outcome = outcome(&verification, output.eligible, pending.enrolment.channel);
            if matches!(decision.outcome, Outcome::Payable | Outcome::NoAccount) {
                decision.amount = output.amount;
            }
        }
    }
    decision
}

/// The host's policy over the plug-in's answer, strongest first:
/// - identity not confirmed by the registry: not paid, whatever a rule says
///   (social-assistance.md: "not paid, whatever a rule says");
/// - dead before the paid month: not paid, even if a rule forgot
///   (Decree 20/2021/ND-CP: payment stops from the month after death);
/// - the rule says not eligible;
/// - eligible, but no account: listed for cash payment, not paid by transfer.
fn outcome(verification: &Verification, eligible: bool, channel: Channel) -> Outcome {
    if !verification.identity_confirmed() {
        Outcome::NotVerified
    } else if !verification.alive_in_period() || !eligible {
        Outcome::NotEligible
    } else if channel == Channel::None {
        Outcome::NoAccount
    } else {
        Outcome::Payable
    }
}

/// The person's facts: identity facts from the registry (the authority), the
/// circumstances from the enrolment.
fn facts(enrolment: &Enrolment, registry: &RegistryRecord) -> PersonFacts {
    PersonFacts {
        birth_date: Some(registry.birth_date),
        sex: Some(registry.sex),
        residence_province: Some(registry.residence_province.clone()),
        death_date: Some(registry.death_date),
        household: Some(enrolment.household),
        disability: Some(enrolment.disability),
        has_pension: Some(enrolment.has_pension),
        difficult_commune: Some(enrolment.difficult_commune),
        statuses: Some(enrolment.statuses.clone()),
        dependent_children: Some(enrolment.dependent_children),
    }
}
