//! One beneficiary, one decision: verify against the registry, ask the plug-in,
//! and settle the outcome by the host's own rules, which no plug-in can
//! override.

use crate::identity::names::NameMatch;
use crate::model::{Channel, Enrolment, Month, Outcome, PersonFacts, RegistryRecord};
use crate::registry::verify::{self, CheckName, Verification};
use crate::store::beneficiaries::Pending;
use crate::store::decisions::{NewDecision, Payee};
use ansinh_sandbox::{CheckedOutput, Plugin, PluginError};

/// Decide for one beneficiary of a run.
pub fn decide(plugin: &Plugin, program: &str, province: &str, period: Month, pending: &Pending) -> NewDecision {
    let verification = verify::verify(&pending.enrolment, pending.registry.as_ref(), period, &pending.others);
    let mut decision = NewDecision {
        period,
        beneficiary_id: pending.id,
        outcome: Outcome::NotVerified,
        amount: 0,
        category: None,
        verification: serde_json::to_string(&verification).expect("plain data serialises"),
        plugin_hash: plugin.hash().to_string(),
        engine: plugin.engine().to_owned(),
        input: None,
        output: None,
        error: None,
        fuel: 0,
        exception: None,
        payee: payee(&pending.enrolment, pending.registry.as_ref()),
    };
    // Without a registry record there are no facts to decide on: the person is
    // not verified, and the plug-in is not asked.
    let Some(registry) = &pending.registry else {
        decision.exception = exception(decision.outcome, &verification);
        return decision;
    };
    let facts = facts(&pending.enrolment, registry);
    let input = plugin.input(period, program, province, verification.identity_confirmed(), &facts);
    let evaluation = plugin.evaluate(&input);
    decision.input = Some(input.canonical_json());
    decision.fuel = evaluation.fuel;
    (decision.outcome, decision.amount) = settle(&verification, &evaluation.result, pending.enrolment.channel);
    match evaluation.result {
        Err(error) => {
            crate::metrics::plugin_error(error.kind());
            decision.error = Some(error.to_string());
        }
        Ok(CheckedOutput { output, json }) => {
            decision.output = Some(json);
            decision.category = output.category;
        }
    }
    decision.exception = exception(decision.outcome, &verification);
    decision
}

/// The outcome and the monthly amount the host stores for a plug-in's answer:
/// a plug-in error is paid nothing; otherwise [`outcome`]'s policy decides, and
/// the amount is owed only to those paid by transfer, held or listed for cash.
/// The one place this policy lives: `run evaluate` and the what-if of `run diff`
/// both settle through it.
pub(crate) fn settle(
    verification: &Verification,
    answer: &Result<CheckedOutput, PluginError>,
    channel: Channel,
) -> (Outcome, u64) {
    let Ok(CheckedOutput { output, .. }) = answer else { return (Outcome::PluginError, 0) };
    let outcome = outcome(verification, output.eligible, channel);
    let amount = if is_owed(outcome) { output.amount } else { 0 };
    (outcome, amount)
}

/// Whether a decision with this outcome is owed its amount: paid by transfer,
/// held for review, or listed for cash.
pub(super) fn is_owed(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::Payable | Outcome::NoAccount | Outcome::Held)
}

/// Where the money goes: the account checked against the registry now, and
/// the registry's name and commune (the ID card VNPost checks).
fn payee(enrolment: &Enrolment, registry: Option<&RegistryRecord>) -> Payee {
    Payee {
        channel: enrolment.channel.as_str().to_owned(),
        bank_bin: enrolment.bank_bin.clone(),
        account_number: enrolment.account_number.clone(),
        account_name: enrolment.account_name.clone(),
        name: registry.map_or(&enrolment.full_name, |r| &r.full_name).clone(),
        commune: registry.map(|r| r.residence_commune.clone()).unwrap_or_default(),
    }
}

/// What an officer must look at in a decision, one kind per decision, the
/// most pressing first. The list: not verified, near-name matches,
/// account-name mismatches, no account, plug-in errors; and two more an
/// officer would ask about: living in another province, enrolled twice.
pub fn exception(outcome: Outcome, verification: &Verification) -> Option<&'static str> {
    let near_name =
        verification.checks.iter().any(|c| c.check == CheckName::Name && c.name_match == Some(NameMatch::Near));
    Some(match outcome {
        Outcome::PluginError => "plugin_error",
        Outcome::NotVerified if near_name => "near_name",
        Outcome::NotVerified => "not_verified",
        Outcome::Held if verification.death_reported() => "death_reported",
        Outcome::Held => "account_name",
        Outcome::NoAccount => "no_account",
        Outcome::NotEligible if verification.identity_confirmed() && !verification.resides_in_province() => "residence",
        _ if verification.failed().any(|c| c.check == CheckName::SingleEnrolment) => "duplicate",
        _ => return None,
    })
}

/// The host's policy over the plug-in's answer, strongest first:
/// - identity not confirmed by the registry: not paid, whatever a rule says
///   (social-assistance.md: "not paid, whatever a rule says");
/// - dead before the paid month: not paid, even if a rule forgot
///   (Decree 20/2021/ND-CP: payment stops from the month after death);
/// - living outside the paying province that month: that province's
///   assistance is not theirs (assistance is applied for and paid where the
///   person lives, Decree 20/2021/NĐ-CP, procedure articles [article
///   unverified]; since 2025-07 communes pay, social-assistance.md);
/// - the rule says not eligible;
/// - eligible, but no account: listed for cash payment, not paid by transfer;
/// - eligible, but the account holder is not the registry's person: held for
///   review (identity.md: names are a secondary check; money to an account
///   that may not be theirs waits for a person);
/// - eligible, but a bank has reported the person deceased (MD07) and no
///   officer has cleared it: held until the registry is checked.
fn outcome(verification: &Verification, eligible: bool, channel: Channel) -> Outcome {
    if !verification.identity_confirmed() {
        Outcome::NotVerified
    } else if !verification.alive_in_period() || !verification.resides_in_province() || !eligible {
        Outcome::NotEligible
    } else if verification.death_reported() {
        Outcome::Held
    } else if channel == Channel::None {
        Outcome::NoAccount
    } else if !verification.account_holder_confirmed() {
        Outcome::Held
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
