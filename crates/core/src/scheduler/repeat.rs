//! A scheduler's repeat options (BullMQ's `RepeatOptions`): read from JSON, checked before
//! anything reaches Redis, and the next fire time they give.

use std::str::FromStr;

use chrono::{DateTime, Local, TimeZone};
use chrono_tz::Tz;
use croner::Cron;
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};

/// When a scheduler fires: every `n` ms, or on a cron pattern.
#[derive(Debug, Clone)]
pub enum Schedule {
    Every(i64),
    Pattern(Box<Pattern>),
}

/// A parsed cron pattern (5 fields, or 6 with seconds first) and its time zone.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    cron: Cron,
    /// The named time zone; `None` is the process' local zone, as cron-parser uses.
    pub tz: Option<Tz>,
}

/// Repeat options as given to `upsertJobScheduler` or stored on an iteration (`repeat`).
#[derive(Debug, Clone)]
pub struct RepeatOptions {
    pub schedule: Schedule,
    /// The `tz` as given (kept for storage even when the schedule is `every`).
    pub tz: Option<String>,
    pub limit: Option<i64>,
    pub start_date: Option<i64>,
    pub end_date: Option<i64>,
    pub immediately: bool,
    pub offset: Option<i64>,
    /// Iterations made so far (on an iteration's options).
    pub count: Option<i64>,
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidArgument(msg.into())
}

/// A non-null field of `o`.
fn field<'a>(o: &'a Map<String, Json>, key: &str) -> Option<&'a Json> {
    o.get(key).filter(|v| !v.is_null())
}

/// An integer field, or a clear error naming it.
fn int_field(o: &Map<String, Json>, key: &str, what: &str) -> Result<Option<i64>> {
    let Some(v) = field(o, key) else {
        return Ok(None);
    };
    match v.as_f64() {
        Some(n) if n.is_finite() => Ok(Some(n as i64)),
        _ => Err(invalid(format!("{key} must be {what}"))),
    }
}

impl Pattern {
    /// Parses `text` in time zone `tz` (an IANA name); errors name what is wrong.
    pub fn parse(text: &str, tz: Option<&str>) -> Result<Pattern> {
        let cron = Cron::from_str(text)
            .map_err(|e| invalid(format!("Invalid cron pattern \"{text}\": {e}")))?;
        let tz = tz.map(parse_tz).transpose()?;
        Ok(Pattern {
            text: text.to_string(),
            cron,
            tz,
        })
    }

    /// The first fire time strictly after `after_ms`, before `end_ms` if given.
    pub fn next_after(&self, after_ms: i64, end_ms: Option<i64>) -> Option<i64> {
        let next = match self.tz {
            Some(tz) => next_in(&self.cron, tz, after_ms)?,
            None => next_in(&self.cron, Local, after_ms)?,
        };
        end_ms.is_none_or(|end| next <= end).then_some(next)
    }
}

fn next_in<Z: TimeZone>(cron: &Cron, zone: Z, after_ms: i64) -> Option<i64>
where
    DateTime<Z>: croner::CronDateTime,
{
    let from = zone.timestamp_millis_opt(after_ms).single()?;
    let next = cron.find_next_occurrence(&from, false).ok()?;
    Some(next.timestamp_millis())
}

/// An IANA time zone name, or a clear error.
pub fn parse_tz(name: &str) -> Result<Tz> {
    name.parse::<Tz>()
        .map_err(|_| invalid(format!("Unknown time zone \"{name}\"")))
}

impl RepeatOptions {
    /// Reads and checks repeat options (dates already in ms since the epoch).
    pub fn from_json(v: &Json) -> Result<RepeatOptions> {
        let Json::Object(o) = v else {
            return Err(invalid("Repeat options must be an object"));
        };
        let every = int_field(o, "every", "a number of milliseconds")?;
        let pattern = match field(o, "pattern") {
            None => None,
            Some(Json::String(s)) if !s.is_empty() => Some(s.as_str()),
            Some(Json::String(_)) => None,
            Some(_) => return Err(invalid("pattern must be a string")),
        };
        let tz = match field(o, "tz") {
            None => None,
            Some(Json::String(s)) => Some(s.clone()),
            Some(_) => return Err(invalid("tz must be a string")),
        };
        let every = every.filter(|_| field(o, "every").is_some_and(truthy_number));
        let schedule = match (every, pattern) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "Both .pattern and .every options are defined for this repeatable job",
                ))
            }
            (None, None) if field(o, "every").is_some() => {
                return Err(invalid("every must be a positive number of milliseconds"))
            }
            (None, None) => {
                return Err(invalid(
                    "Either .pattern or .every options must be defined for this repeatable job",
                ))
            }
            (Some(ms), None) if ms <= 0 => {
                return Err(invalid("every must be a positive number of milliseconds"))
            }
            (Some(ms), None) => Schedule::Every(ms),
            (None, Some(p)) => Schedule::Pattern(Box::new(Pattern::parse(p, tz.as_deref())?)),
        };
        if let (Schedule::Every(_), Some(name)) = (&schedule, &tz) {
            parse_tz(name)?;
        }
        let immediately = field(o, "immediately").is_some_and(|v| v.as_bool() == Some(true));
        let opts = RepeatOptions {
            schedule,
            tz,
            limit: int_field(o, "limit", "a number")?,
            start_date: int_field(o, "startDate", "a valid date")?,
            end_date: int_field(o, "endDate", "a valid date")?,
            immediately,
            offset: int_field(o, "offset", "a number of milliseconds")?,
            count: int_field(o, "count", "a number")?,
        };
        opts.check_dates()?;
        Ok(opts)
    }

    fn check_dates(&self) -> Result<()> {
        if self.immediately && self.start_date.is_some() {
            return Err(invalid(
                "Both .immediately and .startDate options are defined for this repeatable job",
            ));
        }
        if let (Some(start), Some(end)) = (self.start_date, self.end_date) {
            if end < start {
                return Err(invalid("endDate must not be before startDate"));
            }
        }
        Ok(())
    }

    /// The `every` interval, for an `every` schedule.
    pub fn every(&self) -> Option<i64> {
        match self.schedule {
            Schedule::Every(ms) => Some(ms),
            Schedule::Pattern(_) => None,
        }
    }

    /// The next fire time of a pattern from `now` (BullMQ's default repeat strategy):
    /// now itself with `immediately`, else the first match after the later of now and the
    /// start date, and never earlier than now. `None` for `every` or past the end date.
    pub fn pattern_next(&self, now: i64) -> Option<i64> {
        let Schedule::Pattern(p) = &self.schedule else {
            return None;
        };
        if self.immediately {
            return Some(now);
        }
        let from = self.start_date.map_or(now, |s| s.max(now));
        p.next_after(from, self.end_date).map(|n| n.max(now))
    }

    /// BullMQ's `getNextMillis`: the next `every` slot after `millis` (the current one
    /// with `immediately`), or a pattern's next match after `millis` (or the start date).
    pub fn next_millis(&self, millis: i64, now: i64) -> Option<i64> {
        match &self.schedule {
            Schedule::Every(ms) => {
                let step = if self.immediately { 0 } else { *ms };
                Some(millis.div_euclid(*ms) * ms + step)
            }
            Schedule::Pattern(_) if self.immediately => Some(now),
            Schedule::Pattern(p) => {
                let from = self.start_date.map_or(millis, |s| s.max(millis));
                p.next_after(from, self.end_date)
            }
        }
    }

    /// The `repeat` object an iteration stores: what was given but `immediately`, the
    /// offset only for `every`, and the iteration `count`.
    pub fn stored(&self, count: i64) -> Map<String, Json> {
        let mut out = Map::new();
        match &self.schedule {
            Schedule::Every(ms) => {
                out.insert("every".into(), Json::from(*ms));
            }
            Schedule::Pattern(p) => {
                out.insert("pattern".into(), Json::from(p.text.clone()));
            }
        }
        let mut put = |key: &str, v: Option<Json>| {
            if let Some(v) = v {
                out.insert(key.into(), v);
            }
        };
        put("tz", self.tz.clone().map(Json::from));
        put("limit", self.limit.map(Json::from));
        put("startDate", self.start_date.map(Json::from));
        put("endDate", self.end_date.map(Json::from));
        let offset = self.offset.filter(|o| *o != 0 && self.every().is_some());
        put("offset", offset.map(Json::from));
        out.insert("count".into(), Json::from(count));
        out
    }
}

fn truthy_number(v: &Json) -> bool {
    v.as_f64().is_none_or(|n| n != 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Json) -> String {
        RepeatOptions::from_json(&v).unwrap_err().to_string()
    }

    #[test]
    fn bad_input_is_named() {
        assert!(err(json!({"every": 0})).contains("every must be a positive"));
        assert!(err(json!({"every": -5})).contains("every must be a positive"));
        assert!(err(json!({"pattern": "61 * * * *"})).contains("Invalid cron pattern"));
        assert!(err(json!({"pattern": "* * * * *", "tz": "Mars/Olympus"}))
            .contains("Unknown time zone \"Mars/Olympus\""));
        assert!(err(json!({"every": 10, "startDate": 20, "endDate": 10}))
            .contains("endDate must not be before startDate"));
        assert!(err(json!({})).contains("Either .pattern or .every"));
        assert!(err(json!({"every": 10, "pattern": "* * * * *"})).contains("Both .pattern"));
    }

    #[test]
    fn patterns_with_seconds_and_zones() {
        let every_5s = RepeatOptions::from_json(&json!({"pattern": "*/5 * * * * *"})).unwrap();
        // 2026-01-01T00:00:01Z -> 00:00:05Z
        assert_eq!(
            every_5s.pattern_next(1_767_225_601_000),
            Some(1_767_225_605_000)
        );
        let paris =
            RepeatOptions::from_json(&json!({"pattern": "0 9 * * *", "tz": "Europe/Paris"}))
                .unwrap();
        // 09:00 in Paris on 2026-01-01 is 08:00Z.
        assert_eq!(
            paris.pattern_next(1_767_225_600_000),
            Some(1_767_254_400_000)
        );
    }

    #[test]
    fn pattern_stops_at_end_date() {
        let o = RepeatOptions::from_json(
            &json!({"pattern": "0 * * * *", "endDate": 1_767_225_700_000i64}),
        )
        .unwrap();
        assert_eq!(o.pattern_next(1_767_225_600_000), None);
    }
}
