//! The reason a run is cancelled or refused, as the audit log keeps it.

/// A reason a run is `what` (cancelled, refused), as the log keeps it for
/// ever: said, trimmed, and never holding an ID number.
pub(super) fn for_the_log<'a>(reason: &'a str, what: &str) -> anyhow::Result<&'a str> {
    let reason = reason.trim();
    anyhow::ensure!(!reason.is_empty(), "--reason: say why the run is {what}; it is kept with the run");
    anyhow::ensure!(
        !crate::identity::id_number::holds_one(reason),
        "--reason holds what looks like an ID number: the reason is kept in the audit log for ever, which never \
         holds one; name the person by beneficiary number (#123) instead"
    );
    Ok(reason)
}
