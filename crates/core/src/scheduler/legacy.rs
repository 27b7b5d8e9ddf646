//! BullMQ v5's repeatable jobs, which v6 (and so bullrush) no longer iterates: telling
//! their keys from scheduler ids, and the error that names them.

/// Where BullMQ documents moving v5 repeatable jobs to job schedulers.
pub const MIGRATION_URL: &str = "https://docs.bullmq.io/guide/migrations/migrate-from-v5-to-v6";

/// Whether `key` has the shape of a v5 repeatable job key, `name:id:endDate:tz:<repeat>`:
/// an end date of digits or nothing, then after the fourth colon a cron pattern (it has
/// a space) or an `every` in digits.
pub fn has_legacy_key_shape(key: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = key.splitn(5, ':').collect();
    let [_, _, end_date, _, rest] = parts[..] else {
        return false;
    };
    if !end_date.is_empty() && !digits(end_date) {
        return false;
    }
    rest.contains(' ') || digits(rest)
}

/// BullMQ's message for v5 repeatable job metadata met by a v6 worker or getter.
pub fn legacy_message(key: &str) -> String {
    format!(
        "Legacy repeatable job metadata is not supported in BullMQ v6 (key: \"{key}\"). \
         Migrate legacy repeatable jobs to Job Schedulers before upgrading. See {MIGRATION_URL}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v5_keys_are_told_from_scheduler_ids() {
        assert!(has_legacy_key_shape("a:b::tz:* * * * *"));
        assert!(has_legacy_key_shape("a:b:123::5000"));
        assert!(!has_legacy_key_shape(
            "tenant:region:env:service:queue:task"
        ));
        assert!(!has_legacy_key_shape("a:b:c:d:e f"));
        assert!(!has_legacy_key_shape("a:b:1:tz:"));
        assert!(!has_legacy_key_shape("plain"));
    }
}
