//! When modulesd would run the module next: Wazuh's `sched_scan` rules
//! (`src/shared/schedule_scan.c`) on the manager's wall clock.
//!
//! - A plain interval runs every interval after the previous *scheduled* start;
//!   a run that outlasts the interval is followed by the next one at once
//!   ("Interval overtaken.").
//! - `time` alone: the next occurrence of that time of day, then the same time
//!   every `interval` days, counted from the day the previous run finished.
//! - `wday` + `time`: that weekday at that time, then every `interval` weeks.
//! - `day` + `time`: that day of the month at that time, then every `interval`
//!   months. A day the month lacks (31 in April, 29-31 in February) means the
//!   month's last day. Wazuh hands such a date to `mktime`, which rolls it over
//!   into the next month (April 31 becomes May 1, so a `day` of 31 runs on May 1
//!   *and* May 31); we clamp instead, so the module runs once a month as asked.
//!
//! Without `run_on_start` the first calendar run is the next occurrence (at most
//! a day or a week away); later ones are an interval apart, as in Wazuh.
//!
//! The wall clock is a [`WallClock`]: the machine's local time zone with its
//! daylight-saving changes (what modulesd uses, through `localtime`/`mktime`), or
//! a fixed offset. A wall-clock time that a daylight-saving change skips (02:30
//! on a spring-forward night) runs an hour later, as `mktime` makes it.

use time::{Date, Month, OffsetDateTime, PlainDateTime, SignedDuration, Time, UtcOffset};

use crate::{Interval, Schedule, TimeOfDay, Weekday};

const DAY_SECS: u64 = 86_400;
const WEEK_SECS: u64 = 604_800;

/// More days than the calendar `time` can represent: adding this many always
/// saturates at the last representable date.
const MAX_DAYS: u64 = 10_000_000;

/// The clock `<time>`, `<day>` and `<wday>` are read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WallClock {
    /// The machine's local time zone, daylight-saving changes included, as
    /// modulesd reads the schedule. Where the offset cannot be determined, UTC.
    Local,
    /// A fixed offset from UTC: no daylight-saving changes.
    Fixed(UtcOffset),
}

/// When to run next after a run finished, and whether that run took longer
/// than the interval (modulesd then warns "Interval overtaken." and runs at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextRun {
    pub at: OffsetDateTime,
    /// True when a plain interval's next start had already passed when the run
    /// finished: `at` is then the finish time.
    pub overtaken: bool,
}

impl WallClock {
    /// The first run of a module started at `now`: `now` itself with
    /// `run_on_start`, else one interval from now (plain interval) or the next
    /// occurrence of the configured time (calendar schedules).
    pub fn first_run(
        self,
        schedule: &Schedule,
        run_on_start: bool,
        now: OffsetDateTime,
    ) -> OffsetDateTime {
        first_run_in(schedule, run_on_start, now, &|instant| {
            self.offset_at(instant)
        })
    }

    /// The run after one that happened at `after`. A plain interval gives
    /// `after + interval` (so pass the previous *scheduled* start, as modulesd
    /// counts from it); a calendar schedule gives its next occurrence after
    /// `after`, the following day, week or month counted `interval` on.
    pub fn next_run(self, schedule: &Schedule, after: OffsetDateTime) -> OffsetDateTime {
        next_run_in(schedule, after, &|instant| self.offset_at(instant))
    }

    /// What modulesd decides when a run scheduled at `scheduled` finished at
    /// `finished`: a plain interval counts from the scheduled start and, when that
    /// next start has already passed, runs again at once (`overtaken`); a
    /// calendar schedule moves to its next occurrence after `finished`, skipping
    /// any it missed.
    pub fn after_run(
        self,
        schedule: &Schedule,
        scheduled: OffsetDateTime,
        finished: OffsetDateTime,
    ) -> NextRun {
        let zone = |instant: OffsetDateTime| self.offset_at(instant);
        match Rule::of(schedule) {
            Rule::Every(interval) => {
                let at = scheduled.saturating_add(interval);
                if at < finished {
                    NextRun {
                        at: finished,
                        overtaken: true,
                    }
                } else {
                    NextRun {
                        at,
                        overtaken: false,
                    }
                }
            }
            Rule::Calendar(calendar) => NextRun {
                at: calendar.next(finished, false, &zone),
                overtaken: false,
            },
        }
    }

    fn offset_at(self, instant: OffsetDateTime) -> UtcOffset {
        match self {
            WallClock::Fixed(offset) => offset,
            WallClock::Local => UtcOffset::local_offset_at(instant).unwrap_or(UtcOffset::UTC),
        }
    }
}

/// The run after one that happened at `after`, on the wall clock of `after`'s
/// own offset (see [`WallClock::next_run`]; use [`WallClock::Local`] to follow
/// daylight-saving changes).
pub fn next_run(schedule: &Schedule, after: OffsetDateTime) -> OffsetDateTime {
    WallClock::Fixed(after.offset()).next_run(schedule, after)
}

/// The first run of a module started at `now`, on the wall clock of `now`'s own
/// offset (see [`WallClock::first_run`]).
pub fn first_run(schedule: &Schedule, run_on_start: bool, now: OffsetDateTime) -> OffsetDateTime {
    WallClock::Fixed(now.offset()).first_run(schedule, run_on_start, now)
}

/// The UTC offset in force at an instant.
type Zone<'a> = &'a dyn Fn(OffsetDateTime) -> UtcOffset;

fn first_run_in(
    schedule: &Schedule,
    run_on_start: bool,
    now: OffsetDateTime,
    zone: Zone<'_>,
) -> OffsetDateTime {
    if run_on_start {
        return now;
    }
    match Rule::of(schedule) {
        Rule::Every(interval) => now.saturating_add(interval),
        Rule::Calendar(calendar) => calendar.next(now, true, zone),
    }
}

fn next_run_in(schedule: &Schedule, after: OffsetDateTime, zone: Zone<'_>) -> OffsetDateTime {
    match Rule::of(schedule) {
        Rule::Every(interval) => after.saturating_add(interval),
        Rule::Calendar(calendar) => calendar.next(after, false, zone),
    }
}

/// A schedule reduced to the one rule modulesd applies, in its order of
/// precedence: day of the month, then weekday, then time of day, then interval.
enum Rule {
    Every(SignedDuration),
    Calendar(Calendar),
}

#[derive(Clone, Copy)]
enum Calendar {
    Daily {
        time: Time,
        days: u64,
    },
    Weekly {
        weekday: time::Weekday,
        time: Time,
        weeks: u64,
    },
    Monthly {
        day: u8,
        time: Time,
        months: u32,
    },
}

impl Rule {
    /// The parser only builds consistent schedules; one built by hand with a
    /// unit that does not fit its tags (or a zero interval) gets the smallest
    /// sensible one (one day, week or month; one second) rather than a busy loop.
    fn of(schedule: &Schedule) -> Rule {
        let time = wall_time(
            schedule
                .time_of_day
                .unwrap_or(TimeOfDay { hour: 0, minute: 0 }),
        );
        let whole = |size: u64| match schedule.interval {
            Interval::Every(duration) => (duration.as_secs() / size).max(1),
            Interval::Months(_) => 1,
        };
        if let Some(day) = schedule.day_of_month {
            let months = match schedule.interval {
                Interval::Months(months) => months.max(1),
                Interval::Every(_) => 1,
            };
            return Rule::Calendar(Calendar::Monthly { day, time, months });
        }
        if let Some(weekday) = schedule.weekday {
            return Rule::Calendar(Calendar::Weekly {
                weekday: weekday.into(),
                time,
                weeks: whole(WEEK_SECS),
            });
        }
        if schedule.time_of_day.is_some() {
            return Rule::Calendar(Calendar::Daily {
                time,
                days: whole(DAY_SECS),
            });
        }
        match schedule.interval {
            // Months without a day: modulesd sets day 1 at 00:00.
            Interval::Months(months) => Rule::Calendar(Calendar::Monthly {
                day: 1,
                time,
                months: months.max(1),
            }),
            Interval::Every(duration) => Rule::Every(
                SignedDuration::try_from(duration.max(std::time::Duration::from_secs(1)))
                    .unwrap_or(SignedDuration::MAX),
            ),
        }
    }
}

impl Calendar {
    /// The next occurrence strictly after `reference`. `first_time` is modulesd's
    /// first computation without `run_on_start`: a time already past today (or
    /// on today's weekday) moves one day (week) on, not a whole interval.
    fn next(self, reference: OffsetDateTime, first_time: bool, zone: Zone<'_>) -> OffsetDateTime {
        let today = wall_clock(reference, zone).date();
        let at = |date: Date, time: Time| resolve(PlainDateTime::new(date, time), reference, zone);
        match self {
            Calendar::Daily { time, days } => {
                let candidate = at(today, time);
                if candidate > reference {
                    candidate
                } else {
                    at(add_days(today, if first_time { 1 } else { days }), time)
                }
            }
            Calendar::Weekly {
                weekday,
                time,
                weeks,
            } => {
                let ahead = (7 + u64::from(weekday.number_days_from_monday())
                    - u64::from(today.weekday().number_days_from_monday()))
                    % 7;
                if ahead > 0 {
                    return at(add_days(today, ahead), time);
                }
                let candidate = at(today, time);
                if candidate > reference {
                    candidate
                } else {
                    let weeks = if first_time { 1 } else { weeks };
                    at(add_days(today, weeks.saturating_mul(7)), time)
                }
            }
            Calendar::Monthly { day, time, months } => {
                let candidate = at(day_of_month(today.year(), today.month(), day), time);
                if candidate > reference {
                    candidate
                } else {
                    let date = add_months(today, months)
                        .map_or(Date::MAX, |(year, month)| day_of_month(year, month, day));
                    at(date, time)
                }
            }
        }
    }
}

/// The wall-clock reading at an instant.
fn wall_clock(instant: OffsetDateTime, zone: Zone<'_>) -> PlainDateTime {
    let local = instant.checked_to_offset(zone(instant)).unwrap_or(instant);
    PlainDateTime::new(local.date(), local.time())
}

/// The instant a wall-clock reading stands for. Two passes find the offset in
/// force then, starting from the reference's: across a daylight-saving change
/// the second pass corrects the first.
fn resolve(wall: PlainDateTime, reference: OffsetDateTime, zone: Zone<'_>) -> OffsetDateTime {
    let first = zone(wall.assume_offset(reference.offset()));
    let second = zone(wall.assume_offset(first));
    wall.assume_offset(second)
}

fn wall_time(time: TimeOfDay) -> Time {
    // A hand-built TimeOfDay may be out of range; the parser never builds one.
    Time::from_hms(time.hour.min(23), time.minute.min(59), 0).unwrap_or(Time::MIDNIGHT)
}

fn add_days(date: Date, days: u64) -> Date {
    let days = i64::try_from(days.min(MAX_DAYS)).unwrap_or(i64::MAX);
    date.checked_add(SignedDuration::days(days))
        .unwrap_or(Date::MAX)
}

/// The year and month `months` after `date`'s; `None` past the last year `time`
/// represents.
fn add_months(date: Date, months: u32) -> Option<(i32, Month)> {
    let index =
        i64::from(date.year()) * 12 + i64::from(u8::from(date.month()) - 1) + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    (year <= Date::MAX.year()).then_some((year, month))
}

/// `day` of that month, or the month's last day when it is shorter.
fn day_of_month(year: i32, month: Month, day: u8) -> Date {
    let day = day.clamp(1, month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MAX)
}

impl From<Weekday> for time::Weekday {
    fn from(weekday: Weekday) -> time::Weekday {
        match weekday {
            Weekday::Monday => time::Weekday::Monday,
            Weekday::Tuesday => time::Weekday::Tuesday,
            Weekday::Wednesday => time::Weekday::Wednesday,
            Weekday::Thursday => time::Weekday::Thursday,
            Weekday::Friday => time::Weekday::Friday,
            Weekday::Saturday => time::Weekday::Saturday,
            Weekday::Sunday => time::Weekday::Sunday,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::macros::{datetime, offset};

    use super::*;

    fn every(secs: u64) -> Schedule {
        Schedule {
            interval: Interval::Every(Duration::from_secs(secs)),
            ..Schedule::default()
        }
    }

    fn daily_at(hour: u8, minute: u8, days: u64) -> Schedule {
        Schedule {
            interval: Interval::Every(Duration::from_secs(days * DAY_SECS)),
            time_of_day: Some(TimeOfDay { hour, minute }),
            ..Schedule::default()
        }
    }

    fn weekly(weekday: Weekday, hour: u8, minute: u8, weeks: u64) -> Schedule {
        Schedule {
            interval: Interval::Every(Duration::from_secs(weeks * WEEK_SECS)),
            weekday: Some(weekday),
            time_of_day: Some(TimeOfDay { hour, minute }),
            ..Schedule::default()
        }
    }

    fn monthly(day: u8, hour: u8, minute: u8, months: u32) -> Schedule {
        Schedule {
            interval: Interval::Months(months),
            day_of_month: Some(day),
            time_of_day: Some(TimeOfDay { hour, minute }),
            ..Schedule::default()
        }
    }

    #[test]
    fn run_on_start_runs_now_whatever_the_schedule() {
        let now = datetime!(2026-11-26 14:03:27 UTC);
        for schedule in [
            every(300),
            daily_at(3, 0, 1),
            weekly(Weekday::Monday, 3, 0, 1),
            monthly(15, 3, 0, 1),
        ] {
            assert_eq!(first_run(&schedule, true, now), now);
        }
    }

    #[test]
    fn plain_interval_counts_from_the_previous_start() {
        let now = datetime!(2026-11-26 14:03:27 UTC);
        let schedule = every(300);
        assert_eq!(
            first_run(&schedule, false, now),
            datetime!(2026-11-26 14:08:27 UTC)
        );
        assert_eq!(next_run(&schedule, now), datetime!(2026-11-26 14:08:27 UTC));
        // An hour-long interval crosses midnight and the year like any other.
        assert_eq!(
            next_run(&every(3600), datetime!(2026-12-31 23:30 UTC)),
            datetime!(2027-01-01 00:30 UTC)
        );
    }

    #[test]
    fn after_run_catches_up_on_an_overtaken_interval() {
        let clock = WallClock::Fixed(UtcOffset::UTC);
        let schedule = every(300);
        let scheduled = datetime!(2026-11-26 14:00 UTC);

        let quick = clock.after_run(&schedule, scheduled, datetime!(2026-11-26 14:01 UTC));
        assert_eq!(
            quick,
            NextRun {
                at: datetime!(2026-11-26 14:05 UTC),
                overtaken: false
            }
        );
        // Finishing exactly at the next start is not overtaking (modulesd: interval >= elapsed).
        let exact = clock.after_run(&schedule, scheduled, datetime!(2026-11-26 14:05 UTC));
        assert!(!exact.overtaken);

        let slow = clock.after_run(&schedule, scheduled, datetime!(2026-11-26 14:07:30 UTC));
        assert_eq!(
            slow,
            NextRun {
                at: datetime!(2026-11-26 14:07:30 UTC),
                overtaken: true
            }
        );
    }

    #[test]
    fn time_alone_first_runs_at_its_next_occurrence() {
        let schedule = daily_at(3, 30, 2);
        // Still ahead today.
        assert_eq!(
            first_run(&schedule, false, datetime!(2026-11-26 01:00 UTC)),
            datetime!(2026-11-26 03:30 UTC)
        );
        // Already past (or exactly now): tomorrow, not two days on.
        assert_eq!(
            first_run(&schedule, false, datetime!(2026-11-26 14:00 UTC)),
            datetime!(2026-11-27 03:30 UTC)
        );
        assert_eq!(
            first_run(&schedule, false, datetime!(2026-11-26 03:30 UTC)),
            datetime!(2026-11-27 03:30 UTC)
        );
    }

    #[test]
    fn time_alone_then_runs_every_interval_days() {
        let schedule = daily_at(3, 30, 2);
        assert_eq!(
            next_run(&schedule, datetime!(2026-11-27 03:30 UTC)),
            datetime!(2026-11-29 03:30 UTC)
        );
        // A run started a little late still keeps the time of day.
        assert_eq!(
            next_run(&schedule, datetime!(2026-11-27 03:30:01.5 UTC)),
            datetime!(2026-11-29 03:30 UTC)
        );
        // After a run on start earlier in the day, the time still comes today.
        assert_eq!(
            next_run(&schedule, datetime!(2026-11-27 01:00 UTC)),
            datetime!(2026-11-27 03:30 UTC)
        );
        // Across a month end and a leap day.
        assert_eq!(
            next_run(&daily_at(0, 0, 1), datetime!(2028-02-28 00:00 UTC)),
            datetime!(2028-02-29 00:00 UTC)
        );
        assert_eq!(
            next_run(&daily_at(23, 59, 3), datetime!(2026-12-30 23:59 UTC)),
            datetime!(2027-01-02 23:59 UTC)
        );
    }

    #[test]
    fn calendar_after_run_skips_missed_occurrences() {
        let clock = WallClock::Fixed(UtcOffset::UTC);
        let schedule = daily_at(3, 0, 1);
        // A run from 03:00 that took 25 hours: modulesd computes from the finish
        // time, so the next day's 03:00 is skipped, with no "overtaken" warning.
        let next = clock.after_run(
            &schedule,
            datetime!(2026-11-26 03:00 UTC),
            datetime!(2026-11-27 04:00 UTC),
        );
        assert_eq!(
            next,
            NextRun {
                at: datetime!(2026-11-28 03:00 UTC),
                overtaken: false
            }
        );
    }

    #[test]
    fn weekday_first_run_is_the_coming_occurrence() {
        // 2026-11-26 is a Thursday.
        let schedule = weekly(Weekday::Monday, 6, 0, 2);
        assert_eq!(
            first_run(&schedule, false, datetime!(2026-11-26 14:00 UTC)),
            datetime!(2026-11-30 06:00 UTC)
        );
        let thursday = weekly(Weekday::Thursday, 6, 0, 2);
        assert_eq!(
            first_run(&thursday, false, datetime!(2026-11-26 05:00 UTC)),
            datetime!(2026-11-26 06:00 UTC)
        );
        // On the day but past the time: next week, not two weeks on.
        assert_eq!(
            first_run(&thursday, false, datetime!(2026-11-26 14:00 UTC)),
            datetime!(2026-12-03 06:00 UTC)
        );
        // Sunday from Saturday, and Saturday from Sunday.
        let sunday = weekly(Weekday::Sunday, 0, 0, 1);
        assert_eq!(
            first_run(&sunday, false, datetime!(2026-11-28 23:00 UTC)),
            datetime!(2026-11-29 00:00 UTC)
        );
        let saturday = weekly(Weekday::Saturday, 0, 0, 1);
        assert_eq!(
            first_run(&saturday, false, datetime!(2026-11-29 00:00 UTC)),
            datetime!(2026-12-05 00:00 UTC)
        );
    }

    #[test]
    fn weekday_then_runs_every_interval_weeks() {
        let schedule = weekly(Weekday::Monday, 6, 0, 2);
        assert_eq!(
            next_run(&schedule, datetime!(2026-11-30 06:00 UTC)),
            datetime!(2026-12-14 06:00 UTC)
        );
        // Across the year end.
        assert_eq!(
            next_run(&schedule, datetime!(2026-12-28 06:00 UTC)),
            datetime!(2027-01-11 06:00 UTC)
        );
        // After a run on start on another day: the coming Monday.
        assert_eq!(
            next_run(&schedule, datetime!(2026-11-26 14:00 UTC)),
            datetime!(2026-11-30 06:00 UTC)
        );
    }

    #[test]
    fn day_of_month_first_run_is_this_month_or_the_next() {
        let schedule = monthly(15, 2, 0, 3);
        assert_eq!(
            first_run(&schedule, false, datetime!(2026-11-10 12:00 UTC)),
            datetime!(2026-11-15 02:00 UTC)
        );
        assert_eq!(
            first_run(&schedule, false, datetime!(2026-11-15 01:59 UTC)),
            datetime!(2026-11-15 02:00 UTC)
        );
        // Past this month's occurrence: modulesd adds the whole interval.
        assert_eq!(
            first_run(&schedule, false, datetime!(2026-11-15 02:00 UTC)),
            datetime!(2027-02-15 02:00 UTC)
        );
    }

    #[test]
    fn day_of_month_then_runs_every_interval_months() {
        assert_eq!(
            next_run(&monthly(1, 0, 0, 1), datetime!(2026-12-01 00:00 UTC)),
            datetime!(2027-01-01 00:00 UTC)
        );
        assert_eq!(
            next_run(&monthly(10, 8, 30, 14), datetime!(2026-11-10 08:30 UTC)),
            datetime!(2028-01-10 08:30 UTC)
        );
        assert_eq!(
            next_run(&monthly(10, 8, 30, 12), datetime!(2026-11-10 08:30 UTC)),
            datetime!(2027-11-10 08:30 UTC)
        );
    }

    #[test]
    fn a_day_the_month_lacks_is_its_last_day() {
        let day_31 = monthly(31, 0, 0, 1);
        assert_eq!(
            next_run(&day_31, datetime!(2026-03-31 00:00 UTC)),
            datetime!(2026-04-30 00:00 UTC)
        );
        // Within a short month, before its last day: that last day.
        assert_eq!(
            first_run(&day_31, false, datetime!(2026-04-10 00:00 UTC)),
            datetime!(2026-04-30 00:00 UTC)
        );
        // From the clamped day, the next month has its 31st again.
        assert_eq!(
            next_run(&day_31, datetime!(2026-04-30 00:00 UTC)),
            datetime!(2026-05-31 00:00 UTC)
        );
        // February, common and leap years.
        assert_eq!(
            next_run(&day_31, datetime!(2027-01-31 00:00 UTC)),
            datetime!(2027-02-28 00:00 UTC)
        );
        assert_eq!(
            next_run(&day_31, datetime!(2028-01-31 00:00 UTC)),
            datetime!(2028-02-29 00:00 UTC)
        );
        let day_29 = monthly(29, 12, 0, 12);
        assert_eq!(
            next_run(&day_29, datetime!(2028-02-29 12:00 UTC)),
            datetime!(2029-02-28 12:00 UTC)
        );
        assert_eq!(
            next_run(&day_29, datetime!(2031-02-28 12:00 UTC)),
            datetime!(2032-02-29 12:00 UTC)
        );
    }

    #[test]
    fn months_without_a_day_run_on_the_first_at_midnight() {
        let schedule = Schedule {
            interval: Interval::Months(1),
            ..Schedule::default()
        };
        assert_eq!(
            first_run(&schedule, false, datetime!(2026-11-26 14:00 UTC)),
            datetime!(2026-12-01 00:00 UTC)
        );
    }

    #[test]
    fn the_wall_clock_is_that_of_the_offset_given() {
        // 23:30 UTC is already the next day in UTC+2.
        let schedule = daily_at(3, 0, 1);
        let now = datetime!(2026-11-26 23:30 UTC).to_offset(offset!(+2));
        let first = first_run(&schedule, false, now);
        assert_eq!(first, datetime!(2026-11-27 03:00 +2));
        assert_eq!(first.offset(), offset!(+2));
        let clock = WallClock::Fixed(offset!(-5));
        assert_eq!(
            clock.first_run(&schedule, false, datetime!(2026-11-27 07:00 UTC)),
            datetime!(2026-11-27 03:00 -5)
        );
    }

    /// Central European time: +1, and +2 from the last Sunday of March 01:00 UTC
    /// to the last Sunday of October 01:00 UTC (2026: March 29, October 25).
    fn central_europe(instant: OffsetDateTime) -> UtcOffset {
        let utc = instant.to_offset(UtcOffset::UTC);
        if utc >= datetime!(2026-03-29 01:00 UTC) && utc < datetime!(2026-10-25 01:00 UTC) {
            offset!(+2)
        } else {
            offset!(+1)
        }
    }

    #[test]
    fn daylight_saving_changes_keep_the_wall_clock_time() {
        let schedule = daily_at(3, 0, 1);
        // The night the clocks go forward: 03:00 is still 03:00 local, now at +2.
        let before = datetime!(2026-03-28 03:00 +1);
        let next = next_run_in(&schedule, before, &central_europe);
        assert_eq!(next, datetime!(2026-03-29 03:00 +2));
        assert_eq!(next - before, time::Duration::hours(23));
        // And back.
        let before = datetime!(2026-10-24 03:00 +2);
        let next = next_run_in(&schedule, before, &central_europe);
        assert_eq!(next, datetime!(2026-10-25 03:00 +1));
        assert_eq!(next - before, time::Duration::hours(25));
        // 02:30 does not exist on the spring-forward night: it runs an hour later.
        let skipped = daily_at(2, 30, 1);
        assert_eq!(
            next_run_in(&skipped, datetime!(2026-03-28 02:30 +1), &central_europe),
            datetime!(2026-03-29 03:30 +2)
        );
        // A plain interval is elapsed time, whatever the clocks do.
        assert_eq!(
            next_run_in(
                &every(3600),
                datetime!(2026-03-29 01:30 +1),
                &central_europe
            ),
            datetime!(2026-03-29 01:30 UTC)
        );
    }

    #[test]
    fn the_local_clock_matches_the_machine_offset() {
        let now = OffsetDateTime::now_utc();
        let schedule = daily_at(12, 0, 1);
        let local = WallClock::Local.first_run(&schedule, false, now);
        let offset = UtcOffset::local_offset_at(local).unwrap_or(UtcOffset::UTC);
        assert_eq!(local.offset(), offset);
        assert_eq!((local.hour(), local.minute()), (12, 0));
        assert!(local > now && local - now <= time::Duration::days(1));
    }

    #[test]
    fn hand_built_inconsistent_schedules_never_loop_or_panic() {
        let now = datetime!(2026-11-26 14:00 UTC);
        assert_eq!(next_run(&every(0), now), datetime!(2026-11-26 14:00:01 UTC));
        let huge_months = monthly(31, 0, 0, u32::MAX);
        assert_eq!(
            next_run(&huge_months, datetime!(2026-11-30 00:00 UTC)).date(),
            Date::MAX
        );
        let huge_weeks = weekly(Weekday::Thursday, 0, 0, u64::from(u32::MAX));
        assert_eq!(next_run(&huge_weeks, now).date(), Date::MAX);
        let bad_time = Schedule {
            time_of_day: Some(TimeOfDay {
                hour: 99,
                minute: 99,
            }),
            ..every(3600)
        };
        assert_eq!(next_run(&bad_time, now), datetime!(2026-11-26 23:59 UTC));
        // A weekday with an interval in months runs weekly.
        let weekday_months = Schedule {
            interval: Interval::Months(2),
            weekday: Some(Weekday::Thursday),
            time_of_day: Some(TimeOfDay {
                hour: 14,
                minute: 0,
            }),
            day_of_month: None,
        };
        assert_eq!(
            next_run(&weekday_months, now),
            datetime!(2026-12-03 14:00 UTC)
        );
    }
}
