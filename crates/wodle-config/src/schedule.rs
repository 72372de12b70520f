//! Wazuh's shared scheduling tags, `interval`, `day`, `wday` and `time`, with
//! the reference's rules for combining them, and when they make the module run
//! ([`next_run`], [`first_run`], [`WallClock`]).

use std::fmt;
use std::time::Duration;

use crate::validate::split_number_unit;
use crate::{Diagnostic, Interval, InvalidValue, InvalidValueKind, Schedule, TimeOfDay, Weekday};

mod next_run;

pub use next_run::{NextRun, WallClock, first_run, next_run};

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;
const WEEK: u64 = 604_800;

/// The aws-s3 wodle's interval when `<interval>` is absent: 5 minutes.
pub const DEFAULT_INTERVAL: Interval = Interval::Every(Duration::from_secs(5 * MINUTE));

impl Default for Schedule {
    /// Every 5 minutes, no day, weekday or time.
    fn default() -> Schedule {
        Schedule {
            interval: DEFAULT_INTERVAL,
            day_of_month: None,
            weekday: None,
            time_of_day: None,
        }
    }
}

impl fmt::Display for Interval {
    /// The shortest form in the tag's own syntax: `5m`, `1w`, `90s`, `2M`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Interval::Months(n) => write!(f, "{n}M"),
            Interval::Every(duration) => {
                let secs = duration.as_secs();
                let (unit, size) = [('w', WEEK), ('d', DAY), ('h', HOUR), ('m', MINUTE)]
                    .into_iter()
                    .find(|&(_, size)| secs > 0 && secs % size == 0)
                    .unwrap_or(('s', 1));
                write!(f, "{}{unit}", secs / size)
            }
        }
    }
}

impl Weekday {
    /// The full lowercase name, as `<wday>` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Weekday::Monday => "monday",
            Weekday::Tuesday => "tuesday",
            Weekday::Wednesday => "wednesday",
            Weekday::Thursday => "thursday",
            Weekday::Friday => "friday",
            Weekday::Saturday => "saturday",
            Weekday::Sunday => "sunday",
        }
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

const MIDNIGHT: TimeOfDay = TimeOfDay { hour: 0, minute: 0 };

fn other(value: &str, message: String) -> InvalidValue {
    InvalidValue {
        kind: InvalidValueKind::Other,
        value: value.to_owned(),
        message,
    }
}

/// `interval`: a positive number with an optional unit `s`, `m`, `h`, `d`,
/// `w` or `M` (months); a bare number is seconds.
pub fn parse_interval(value: &str) -> Result<Interval, InvalidValue> {
    let trimmed = value.trim();
    let parsed = split_number_unit(trimmed)
        .filter(|&(number, _)| number > 0 && number < u64::from(u32::MAX))
        .and_then(|(number, unit)| {
            let scale = match unit {
                Some('M') => return u32::try_from(number).ok().map(Interval::Months),
                None | Some('s') => 1,
                Some('m') => MINUTE,
                Some('h') => HOUR,
                Some('d') => DAY,
                Some('w') => WEEK,
                Some(_) => return None,
            };
            number
                .checked_mul(scale)
                .map(|secs| Interval::Every(Duration::from_secs(secs)))
        });
    parsed.ok_or_else(|| {
        other(
            trimmed,
            format!(
                "Invalid interval value at module 'aws-s3': '{trimmed}'. Tag 'interval' takes a \
                 positive number with an optional unit s, m, h, d, w or M (months); a bare number \
                 is seconds. Such as 5m."
            ),
        )
    })
}

/// `day`: the day of the month, 1-31.
pub fn parse_day(value: &str) -> Result<u8, InvalidValue> {
    let trimmed = value.trim();
    let day =
        (!trimmed.is_empty() && trimmed.len() <= 2 && trimmed.bytes().all(|b| b.is_ascii_digit()))
            .then(|| trimmed.parse::<u8>().ok())
            .flatten()
            .filter(|day| (1..=31).contains(day));
    day.ok_or_else(|| {
        other(
            trimmed,
            format!(
                "Invalid value for element 'day': '{trimmed}'. Expected a day of the month from \
                 1 to 31."
            ),
        )
    })
}

/// `wday`: a day of the week, full name or three-letter abbreviation, any
/// case (what Wazuh accepts).
pub fn parse_wday(value: &str) -> Result<Weekday, InvalidValue> {
    const DAYS: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];
    let trimmed = value.trim();
    let lower = trimmed.to_ascii_lowercase();
    DAYS.into_iter()
        .find(|day| lower == day.as_str() || lower == day.as_str()[..3])
        .ok_or_else(|| {
            other(
                trimmed,
                format!(
                    "Invalid value for element 'wday': '{trimmed}'. Expected a day of the week: \
                     monday to sunday, or mon to sun, in any case."
                ),
            )
        })
}

/// `time`: `hh:mm` on a 24-hour clock (one or two digits each).
pub fn parse_time(value: &str) -> Result<TimeOfDay, InvalidValue> {
    let trimmed = value.trim();
    let number = |part: &str, max: u8| {
        (!part.is_empty() && part.len() <= 2 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u8>().ok())
            .flatten()
            .filter(|n| *n <= max)
    };
    let time = trimmed.split_once(':').and_then(|(hour, minute)| {
        Some(TimeOfDay {
            hour: number(hour, 23)?,
            minute: number(minute, 59)?,
        })
    });
    time.ok_or_else(|| {
        other(
            trimmed,
            format!(
                "Invalid value for element 'time': '{trimmed}'. Expected hh:mm on a 24-hour \
                 clock, such as 03:30."
            ),
        )
    })
}

/// The scheduling tags found in one wodle, each with its line.
#[derive(Debug, Default)]
pub(crate) struct ScheduleTags {
    pub interval: Option<(Interval, u32)>,
    pub day: Option<(u8, u32)>,
    pub wday: Option<(Weekday, u32)>,
    pub time: Option<(TimeOfDay, u32)>,
}

fn warning(line: u32, message: String) -> Diagnostic {
    Diagnostic {
        line,
        tag: "interval".to_owned(),
        message,
    }
}

/// Combines the tags as modulesd does: `day` and `wday` exclude each other;
/// `day` forces an interval in months, `wday` one in weeks, `time` one in whole
/// days (each with the reference's warning); an interval in months alone runs
/// on day 1. `day` and `wday` default the time to 00:00.
pub(crate) fn resolve(tags: &ScheduleTags) -> Result<(Schedule, Vec<Diagnostic>), Diagnostic> {
    let given = tags
        .interval
        .map_or(DEFAULT_INTERVAL, |(interval, _)| interval);
    let mut schedule = Schedule {
        interval: given,
        day_of_month: None,
        weekday: None,
        time_of_day: tags.time.map(|(time, _)| time),
    };
    let mut warnings = Vec::new();
    let multiple_of = |size: u64| matches!(given, Interval::Every(d) if d.as_secs() % size == 0);

    match (tags.day, tags.wday, tags.time) {
        (Some(_), Some((_, wday_line)), _) => {
            return Err(Diagnostic {
                line: wday_line,
                tag: "wday".to_owned(),
                message: "Options 'day' and 'wday' are not compatible. Use 'day' with an interval \
                          in months, or 'wday' with an interval in weeks, not both."
                    .to_owned(),
            });
        }
        (Some((day, line)), None, _) => {
            if !matches!(given, Interval::Months(_)) {
                warnings.push(warning(
                    line,
                    format!(
                        "Interval must be a multiple of one month. New interval value: 1M \
                         ('day' needs an interval in months; the interval was {given})."
                    ),
                ));
                schedule.interval = Interval::Months(1);
            }
            schedule.day_of_month = Some(day);
            schedule.time_of_day.get_or_insert(MIDNIGHT);
        }
        (None, Some((wday, line)), _) => {
            if !multiple_of(WEEK) {
                warnings.push(warning(
                    line,
                    format!(
                        "Interval must be a multiple of one week. New interval value: 1w \
                         ('wday' needs an interval in weeks; the interval was {given})."
                    ),
                ));
                schedule.interval = Interval::Every(Duration::from_secs(WEEK));
            }
            schedule.weekday = Some(wday);
            schedule.time_of_day.get_or_insert(MIDNIGHT);
        }
        (None, None, Some((_, line))) => {
            if !multiple_of(DAY) {
                warnings.push(warning(
                    line,
                    format!(
                        "Interval must be a multiple of one day. New interval value: 1d \
                         ('time' needs an interval in whole days; the interval was {given})."
                    ),
                ));
                schedule.interval = Interval::Every(Duration::from_secs(DAY));
            }
        }
        (None, None, None) => {
            if let (Interval::Months(_), Some((_, line))) = (given, tags.interval) {
                warnings.push(warning(
                    line,
                    "Interval value is in months. Setting scan day to first day of the month. \
                     (It runs at 00:00 on day 1; set <day> and <time> to choose.)"
                        .to_owned(),
                ));
                schedule.day_of_month = Some(1);
                schedule.time_of_day = Some(MIDNIGHT);
            }
        }
    }
    Ok((schedule, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Interval {
        Interval::Every(Duration::from_secs(n))
    }

    #[test]
    fn interval_units_and_bare_seconds() {
        assert_eq!(parse_interval("30").unwrap(), secs(30));
        assert_eq!(parse_interval("30s").unwrap(), secs(30));
        assert_eq!(parse_interval("5m").unwrap(), secs(300));
        assert_eq!(parse_interval(" 2h ").unwrap(), secs(7200));
        assert_eq!(parse_interval("1d").unwrap(), secs(86_400));
        assert_eq!(parse_interval("2w").unwrap(), secs(2 * 604_800));
        assert_eq!(parse_interval("3M").unwrap(), Interval::Months(3));
    }

    #[test]
    fn interval_zero_or_garbage_is_an_error_naming_the_value() {
        for bad in [
            "0",
            "0m",
            "",
            "m",
            "5x",
            "5 m",
            "-5m",
            "5mins",
            "1.5h",
            "4294967295",
            "5D",
        ] {
            let err = parse_interval(bad).unwrap_err();
            assert_eq!(err.kind, InvalidValueKind::Other);
            assert_eq!(err.value, bad.trim());
            assert_eq!(
                err.message,
                format!(
                    "Invalid interval value at module 'aws-s3': '{}'. Tag 'interval' takes a \
                     positive number with an optional unit s, m, h, d, w or M (months); a bare \
                     number is seconds. Such as 5m.",
                    bad.trim()
                )
            );
        }
    }

    #[test]
    fn interval_display_uses_the_largest_unit() {
        assert_eq!(DEFAULT_INTERVAL.to_string(), "5m");
        assert_eq!(secs(90).to_string(), "90s");
        assert_eq!(secs(7200).to_string(), "2h");
        assert_eq!(secs(86_400).to_string(), "1d");
        assert_eq!(secs(1_209_600).to_string(), "2w");
        assert_eq!(Interval::Months(1).to_string(), "1M");
        assert_eq!(secs(0).to_string(), "0s");
    }

    #[test]
    fn day_is_1_to_31() {
        assert_eq!(parse_day("1").unwrap(), 1);
        assert_eq!(parse_day(" 31 ").unwrap(), 31);
        assert_eq!(parse_day("05").unwrap(), 5);
        for bad in ["0", "32", "", "1st", "-1", "100"] {
            let err = parse_day(bad).unwrap_err();
            assert_eq!(
                err.message,
                format!(
                    "Invalid value for element 'day': '{bad}'. Expected a day of the month from \
                     1 to 31."
                )
            );
        }
    }

    #[test]
    fn wday_takes_names_and_abbreviations_in_any_case() {
        assert_eq!(parse_wday("monday").unwrap(), Weekday::Monday);
        assert_eq!(parse_wday("Tuesday").unwrap(), Weekday::Tuesday);
        assert_eq!(parse_wday("WED").unwrap(), Weekday::Wednesday);
        assert_eq!(parse_wday(" thu ").unwrap(), Weekday::Thursday);
        assert_eq!(parse_wday("fri").unwrap(), Weekday::Friday);
        assert_eq!(parse_wday("saturday").unwrap(), Weekday::Saturday);
        assert_eq!(parse_wday("sun").unwrap(), Weekday::Sunday);
        for bad in ["", "mo", "someday", "monday,tuesday", "7"] {
            let err = parse_wday(bad).unwrap_err();
            assert!(
                err.message
                    .starts_with(&format!("Invalid value for element 'wday': '{bad}'.")),
                "{}",
                err.message
            );
        }
        assert_eq!(Weekday::Sunday.to_string(), "sunday");
    }

    #[test]
    fn time_is_hh_mm() {
        assert_eq!(
            parse_time("03:30").unwrap(),
            TimeOfDay {
                hour: 3,
                minute: 30
            }
        );
        assert_eq!(parse_time("9:5").unwrap(), TimeOfDay { hour: 9, minute: 5 });
        assert_eq!(parse_time("23:59").unwrap().to_string(), "23:59");
        for bad in [
            "24:00", "12:60", "1230", "", "12:", ":30", "12:30:00", "1:2pm", "-1:00",
        ] {
            let err = parse_time(bad).unwrap_err();
            assert_eq!(
                err.message,
                format!(
                    "Invalid value for element 'time': '{bad}'. Expected hh:mm on a 24-hour \
                     clock, such as 03:30."
                )
            );
        }
    }

    #[test]
    fn no_tags_give_the_default() {
        let (schedule, warnings) = resolve(&ScheduleTags::default()).unwrap();
        assert_eq!(schedule, Schedule::default());
        assert_eq!(schedule.interval, secs(300));
        assert!(warnings.is_empty());
    }

    #[test]
    fn day_and_wday_together_are_an_error() {
        let tags = ScheduleTags {
            day: Some((3, 4)),
            wday: Some((Weekday::Monday, 5)),
            ..ScheduleTags::default()
        };
        let err = resolve(&tags).unwrap_err();
        assert_eq!(err.line, 5);
        assert_eq!(err.tag, "wday");
        assert!(
            err.message
                .starts_with("Options 'day' and 'wday' are not compatible.")
        );
    }

    #[test]
    fn day_forces_months_with_the_reference_warning() {
        let tags = ScheduleTags {
            interval: Some((secs(600), 3)),
            day: Some((15, 7)),
            ..ScheduleTags::default()
        };
        let (schedule, warnings) = resolve(&tags).unwrap();
        assert_eq!(schedule.interval, Interval::Months(1));
        assert_eq!(schedule.day_of_month, Some(15));
        assert_eq!(schedule.time_of_day, Some(MIDNIGHT));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, 7);
        assert_eq!(warnings[0].tag, "interval");
        assert_eq!(
            warnings[0].message,
            "Interval must be a multiple of one month. New interval value: 1M ('day' needs an \
             interval in months; the interval was 10m)."
        );
    }

    #[test]
    fn day_with_months_and_time_is_kept_silently() {
        let tags = ScheduleTags {
            interval: Some((Interval::Months(2), 3)),
            day: Some((1, 4)),
            time: Some((TimeOfDay { hour: 6, minute: 0 }, 5)),
            ..ScheduleTags::default()
        };
        let (schedule, warnings) = resolve(&tags).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(
            schedule,
            Schedule {
                interval: Interval::Months(2),
                day_of_month: Some(1),
                weekday: None,
                time_of_day: Some(TimeOfDay { hour: 6, minute: 0 }),
            }
        );
    }

    #[test]
    fn wday_forces_weeks_even_from_the_default_interval() {
        let tags = ScheduleTags {
            wday: Some((Weekday::Friday, 9)),
            ..ScheduleTags::default()
        };
        let (schedule, warnings) = resolve(&tags).unwrap();
        assert_eq!(schedule.interval, secs(604_800));
        assert_eq!(schedule.weekday, Some(Weekday::Friday));
        assert_eq!(schedule.time_of_day, Some(MIDNIGHT));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, 9);
        assert_eq!(
            warnings[0].message,
            "Interval must be a multiple of one week. New interval value: 1w ('wday' needs an \
             interval in weeks; the interval was 5m)."
        );

        let tags = ScheduleTags {
            interval: Some((secs(2 * 604_800), 2)),
            wday: Some((Weekday::Friday, 9)),
            ..ScheduleTags::default()
        };
        let (schedule, warnings) = resolve(&tags).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(schedule.interval, secs(2 * 604_800));

        let tags = ScheduleTags {
            interval: Some((Interval::Months(1), 2)),
            wday: Some((Weekday::Friday, 9)),
            ..ScheduleTags::default()
        };
        let (schedule, warnings) = resolve(&tags).unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(schedule.interval, secs(604_800));
    }

    #[test]
    fn time_forces_whole_days() {
        let time = TimeOfDay {
            hour: 2,
            minute: 15,
        };
        let tags = ScheduleTags {
            interval: Some((secs(3600), 2)),
            time: Some((time, 6)),
            ..ScheduleTags::default()
        };
        let (schedule, warnings) = resolve(&tags).unwrap();
        assert_eq!(schedule.interval, secs(86_400));
        assert_eq!(schedule.time_of_day, Some(time));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, 6);
        assert_eq!(
            warnings[0].message,
            "Interval must be a multiple of one day. New interval value: 1d ('time' needs an \
             interval in whole days; the interval was 1h)."
        );

        let tags = ScheduleTags {
            interval: Some((secs(2 * 86_400), 2)),
            time: Some((time, 6)),
            ..ScheduleTags::default()
        };
        let (schedule, warnings) = resolve(&tags).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(schedule.interval, secs(2 * 86_400));
        assert_eq!(schedule.day_of_month, None);
    }

    #[test]
    fn months_alone_run_on_day_one_with_the_reference_warning() {
        let tags = ScheduleTags {
            interval: Some((Interval::Months(1), 4)),
            ..ScheduleTags::default()
        };
        let (schedule, warnings) = resolve(&tags).unwrap();
        assert_eq!(schedule.interval, Interval::Months(1));
        assert_eq!(schedule.day_of_month, Some(1));
        assert_eq!(schedule.time_of_day, Some(MIDNIGHT));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, 4);
        assert!(warnings[0].message.starts_with(
            "Interval value is in months. Setting scan day to first day of the month."
        ));
    }
}
