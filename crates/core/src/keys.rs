//! Every Redis key of a queue and of a job.

/// The keys of one queue, built from its prefix and name.
#[derive(Debug, Clone)]
pub struct QueueKeys {
    /// `<prefix>:<name>:`, the base every job key starts with.
    pub base: String,
    pub wait: String,
    pub active: String,
    pub paused: String,
    pub prioritized: String,
    pub pc: String,
    pub delayed: String,
    pub completed: String,
    pub failed: String,
    pub waiting_children: String,
    pub id: String,
    pub meta: String,
    pub events: String,
    pub marker: String,
    pub stalled: String,
    pub stalled_check: String,
    pub limiter: String,
    pub repeat: String,
}

impl QueueKeys {
    /// Builds the keys of queue `name` under `prefix`.
    pub fn new(prefix: &str, name: &str) -> QueueKeys {
        let base = format!("{prefix}:{name}:");
        let key = |suffix: &str| format!("{base}{suffix}");
        QueueKeys {
            wait: key("wait"),
            active: key("active"),
            paused: key("paused"),
            prioritized: key("prioritized"),
            pc: key("pc"),
            delayed: key("delayed"),
            completed: key("completed"),
            failed: key("failed"),
            waiting_children: key("waiting-children"),
            id: key("id"),
            meta: key("meta"),
            events: key("events"),
            marker: key("marker"),
            stalled: key("stalled"),
            stalled_check: key("stalled-check"),
            limiter: key("limiter"),
            repeat: key("repeat"),
            base,
        }
    }

    /// The hash key of job `id`.
    pub fn job(&self, id: &str) -> String {
        format!("{}{id}", self.base)
    }

    /// The log list key of job `id`.
    pub fn logs(&self, id: &str) -> String {
        format!("{}{id}:logs", self.base)
    }

    /// The key naming the job that owns deduplication id `id`.
    pub fn dedup(&self, id: &str) -> String {
        format!("{}de:{id}", self.base)
    }

    /// The key of a set or list named by its state (`wait`, `completed`, ...).
    pub fn state(&self, state: JobState) -> &str {
        match state {
            JobState::Waiting => &self.wait,
            JobState::Active => &self.active,
            JobState::Paused => &self.paused,
            JobState::Prioritized => &self.prioritized,
            JobState::Delayed => &self.delayed,
            JobState::Completed => &self.completed,
            JobState::Failed => &self.failed,
            JobState::WaitingChildren => &self.waiting_children,
        }
    }
}

/// The state containers a job can sit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    Waiting,
    Active,
    Paused,
    Prioritized,
    Delayed,
    Completed,
    Failed,
    WaitingChildren,
}

impl JobState {
    /// Parses BullMQ's type names (`wait` and `waiting` are the same list).
    pub fn parse(name: &str) -> Option<JobState> {
        Some(match name {
            "wait" | "waiting" => JobState::Waiting,
            "active" => JobState::Active,
            "paused" => JobState::Paused,
            "prioritized" => JobState::Prioritized,
            "delayed" => JobState::Delayed,
            "completed" => JobState::Completed,
            "failed" => JobState::Failed,
            "waiting-children" => JobState::WaitingChildren,
            _ => return None,
        })
    }

    /// Whether the container is a list (the others are sorted sets).
    pub fn is_list(self) -> bool {
        matches!(
            self,
            JobState::Waiting | JobState::Active | JobState::Paused
        )
    }
}
