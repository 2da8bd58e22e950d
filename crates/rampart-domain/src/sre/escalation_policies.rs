//! Escalation policies: ordered levels, each paging its targets (users, groups,
//! schedules) and waiting its delay before the next level; the whole policy repeats a
//! set number of times; an acknowledgement stops it. A level whose targets resolve to
//! nobody (a schedule with nobody on call, an empty group) is skipped at once, never
//! waited on.
//!
//! Pure: the engine keeps an [`Escalation`] in the store and calls [`Escalation::advance`]
//! with the time it runs; steps that fell due while nothing ran (a restart) are taken at
//! the instants they were due, in order, so pages are never lost and never doubled.

use jiff::{SignedDuration, Timestamp};

use crate::ValidationError;

/// The most levels, and the most repeats, of a policy.
pub const ESCALATION_LEVELS_MAX: usize = 20;
pub const ESCALATION_REPEATS_MAX: u32 = 9;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    User(String),
    Group(String),
    Schedule(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Level {
    pub targets: Vec<Target>,
    /// How long this level has before the next one is paged.
    pub delay: SignedDuration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub levels: Vec<Level>,
    /// How many more times the levels run after the first pass.
    pub repeats: u32,
}

impl Policy {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.levels.is_empty() || self.levels.len() > ESCALATION_LEVELS_MAX {
            return Err(ValidationError::new(
                "levels",
                format!("a policy has 1 to {ESCALATION_LEVELS_MAX} levels"),
            ));
        }
        if self.repeats > ESCALATION_REPEATS_MAX {
            return Err(ValidationError::new(
                "repeats",
                format!("a policy repeats at most {ESCALATION_REPEATS_MAX} times"),
            ));
        }
        for level in &self.levels {
            if level.targets.is_empty() {
                return Err(ValidationError::new("targets", "every level has targets"));
            }
            if level.delay < SignedDuration::from_mins(1)
                || level.delay > SignedDuration::from_hours(24)
            {
                return Err(ValidationError::new(
                    "delay",
                    "a level waits 1 minute to 24 hours",
                ));
            }
        }
        Ok(())
    }
}

/// Who a target is at an instant (the members of a group, whoever a schedule has on
/// call; nobody is an empty list).
pub trait Resolve {
    fn users(&self, target: &Target, at: Timestamp) -> Vec<String>;
}

/// One notification the engine must send.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub at: Timestamp,
    pub level: usize,
    /// 0 for the first pass.
    pub round: u32,
    pub users: Vec<String>,
}

/// Where an escalation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Waiting until `next_at` to move past `level`.
    Waiting,
    Acknowledged,
    /// Every level of every pass ran out without an acknowledgement.
    Exhausted,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Escalation {
    pub level: usize,
    pub round: u32,
    pub next_at: Timestamp,
    pub status: Status,
}

impl Escalation {
    /// Starts at level 0, at `now`: the pages to send now.
    pub fn start(policy: &Policy, now: Timestamp, resolve: &impl Resolve) -> (Self, Vec<Page>) {
        let mut escalation = Self {
            level: 0,
            round: 0,
            next_at: now,
            status: Status::Waiting,
        };
        let pages = escalation.enter(policy, now, resolve);
        (escalation, pages)
    }

    /// Pages the current level at `at`, skipping levels that resolve to nobody.
    fn enter(&mut self, policy: &Policy, at: Timestamp, resolve: &impl Resolve) -> Vec<Page> {
        // At most every level of every pass once, so a policy of nobodies ends.
        let bound = policy.levels.len() * (policy.repeats as usize + 1);
        for _ in 0..=bound {
            let Some(level) = policy.levels.get(self.level) else {
                self.status = Status::Exhausted;
                return Vec::new();
            };
            let mut users: Vec<String> = level
                .targets
                .iter()
                .flat_map(|target| resolve.users(target, at))
                .collect();
            users.sort();
            users.dedup();
            if users.is_empty() {
                if !self.step(policy) {
                    return Vec::new();
                }
                continue;
            }
            self.next_at = at.checked_add(level.delay).unwrap_or(Timestamp::MAX);
            return vec![Page {
                at,
                level: self.level,
                round: self.round,
                users,
            }];
        }
        self.status = Status::Exhausted;
        Vec::new()
    }

    /// Moves to the next level (or the next pass); false when the policy is exhausted.
    fn step(&mut self, policy: &Policy) -> bool {
        if self.level + 1 < policy.levels.len() {
            self.level += 1;
            return true;
        }
        if self.round < policy.repeats {
            self.round += 1;
            self.level = 0;
            return true;
        }
        self.status = Status::Exhausted;
        false
    }

    /// Takes every step due by `now`, each at the instant it fell due.
    pub fn advance(
        &mut self,
        policy: &Policy,
        now: Timestamp,
        resolve: &impl Resolve,
    ) -> Vec<Page> {
        let mut pages = Vec::new();
        while self.status == Status::Waiting && self.next_at <= now {
            let due = self.next_at;
            if !self.step(policy) {
                break;
            }
            pages.extend(self.enter(policy, due, resolve));
        }
        pages
    }

    /// An acknowledgement stops the escalation.
    pub fn acknowledge(&mut self) {
        if self.status == Status::Waiting {
            self.status = Status::Acknowledged;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Directory(HashMap<Target, Vec<String>>);

    impl Resolve for Directory {
        fn users(&self, target: &Target, _at: Timestamp) -> Vec<String> {
            match target {
                Target::User(user) => vec![user.clone()],
                other => self.0.get(other).cloned().unwrap_or_default(),
            }
        }
    }

    fn t(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_795_000_000 + minutes * 60).unwrap()
    }

    fn level(targets: Vec<Target>, minutes: i64) -> Level {
        Level {
            targets,
            delay: SignedDuration::from_mins(minutes),
        }
    }

    fn user(name: &str) -> Target {
        Target::User(name.into())
    }

    #[test]
    fn the_policy_repeats_exactly_and_then_stops() {
        let policy = Policy {
            levels: vec![level(vec![user("ann")], 5), level(vec![user("bob")], 10)],
            repeats: 2,
        };
        policy.validate().unwrap();
        let directory = Directory(HashMap::new());
        let (mut escalation, mut pages) = Escalation::start(&policy, t(0), &directory);
        // Everything due within two hours, taken in one late run (as after a restart).
        pages.extend(escalation.advance(&policy, t(120), &directory));
        let summary: Vec<(i64, usize, u32)> = pages
            .iter()
            .map(|p| (p.at.duration_since(t(0)).as_mins(), p.level, p.round))
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, 0, 0),
                (5, 1, 0),
                (15, 0, 1),
                (20, 1, 1),
                (30, 0, 2),
                (35, 1, 2)
            ]
        );
        assert_eq!(escalation.status, Status::Exhausted);
        assert!(escalation.advance(&policy, t(500), &directory).is_empty());
    }

    #[test]
    fn an_acknowledgement_mid_loop_stops_it() {
        let policy = Policy {
            levels: vec![level(vec![user("ann")], 5), level(vec![user("bob")], 5)],
            repeats: 3,
        };
        let directory = Directory(HashMap::new());
        let (mut escalation, first) = Escalation::start(&policy, t(0), &directory);
        assert_eq!(first.len(), 1);
        let second = escalation.advance(&policy, t(6), &directory);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].users, vec!["bob".to_owned()]);
        escalation.acknowledge();
        assert!(escalation.advance(&policy, t(600), &directory).is_empty());
        assert_eq!(escalation.status, Status::Acknowledged);
    }

    #[test]
    fn a_level_with_nobody_on_call_is_skipped_not_waited_on() {
        let empty_schedule = Target::Schedule("nights".into());
        let team = Target::Group("sre".into());
        let policy = Policy {
            levels: vec![
                level(vec![user("ann")], 5),
                level(vec![empty_schedule.clone()], 30),
                level(vec![team.clone(), user("cid")], 5),
            ],
            repeats: 0,
        };
        let directory = Directory(HashMap::from([
            (empty_schedule, vec![]),
            (team, vec!["cid".into(), "dee".into()]),
        ]));
        let (mut escalation, mut pages) = Escalation::start(&policy, t(0), &directory);
        pages.extend(escalation.advance(&policy, t(5), &directory));
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[1].level, 2, "level 1 skipped");
        assert_eq!(pages[1].at, t(5), "at once, not after level 1's 30 minutes");
        assert_eq!(pages[1].users, vec!["cid".to_owned(), "dee".to_owned()]);

        // A policy where nobody is ever reachable ends instead of spinning.
        let nobody = Policy {
            levels: vec![level(vec![Target::Group("empty".into())], 5)],
            repeats: 5,
        };
        let (escalation, pages) = Escalation::start(&nobody, t(0), &directory);
        assert!(pages.is_empty());
        assert_eq!(escalation.status, Status::Exhausted);
    }

    #[test]
    fn policies_are_validated() {
        let mut policy = Policy {
            levels: vec![level(vec![user("ann")], 5)],
            repeats: 0,
        };
        policy.validate().unwrap();
        policy.repeats = 10;
        assert!(policy.validate().is_err());
        policy.repeats = 0;
        policy.levels[0].delay = SignedDuration::from_secs(10);
        assert!(policy.validate().is_err());
        policy.levels.clear();
        assert!(policy.validate().is_err());
    }
}
