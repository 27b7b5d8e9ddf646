//! Our Lua scripts, each prepended with the shared helpers (and the includes it names) and
//! invoked by EVALSHA.

use std::ops::Deref;
use std::sync::LazyLock;

use redis::{Script, ToRedisArgs};

use crate::resp;

/// One of our scripts: its source text and its `redis::Script`.
pub struct Lua {
    code: &'static str,
    script: Script,
}

impl Lua {
    fn new(code: &'static str) -> Lua {
        Lua {
            code,
            script: Script::new(code),
        }
    }

    /// The script's full source text.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl Deref for Lua {
    type Target = Script;

    fn deref(&self) -> &Script {
        &self.script
    }
}

macro_rules! script {
    ($name:ident, $file:literal $(, $include:literal)*) => {
        #[doc = concat!("The `", $file, "` script.")]
        pub static $name: LazyLock<Lua> = LazyLock::new(|| {
            Lua::new(concat!(
                include_str!("scripts/includes/common.lua"),
                "\n",
                $(include_str!(concat!("scripts/includes/", $include)), "\n",)*
                include_str!(concat!("scripts/", $file))
            ))
        });
    };
}

script!(ADD_JOBS, "add_jobs.lua", "parent.lua", "add.lua");
script!(ADD_FLOW, "add_flow.lua", "parent.lua", "add.lua");
script!(FIND_ADDED, "find_added.lua");
script!(FETCH_JOBS, "fetch_jobs.lua", "fetch.lua");
script!(
    FINISH_JOBS,
    "finish_jobs.lua",
    "fetch.lua",
    "metrics.lua",
    "parent.lua"
);
script!(EXTEND_LOCKS, "extend_locks.lua");
script!(MOVE_STALLED_JOBS, "move_stalled_jobs.lua");
script!(PAUSE, "pause.lua");
script!(RESUME, "resume.lua");
script!(DRAIN, "drain.lua", "parent.lua", "remove.lua");
script!(OBLITERATE, "obliterate.lua", "parent.lua", "remove.lua");
script!(
    REMOVE_JOB,
    "remove_job.lua",
    "parent.lua",
    "remove_tree.lua"
);
script!(
    REMOVE_UNPROCESSED_CHILDREN,
    "remove_unprocessed_children.lua",
    "parent.lua",
    "remove_tree.lua"
);
script!(
    REMOVE_CHILD_DEPENDENCY,
    "remove_child_dependency.lua",
    "parent.lua"
);
script!(MOVE_TO_WAITING_CHILDREN, "move_to_waiting_children.lua");
script!(UPDATE_PROGRESS, "update_progress.lua");
script!(ADD_LOG, "add_log.lua");
script!(REPROCESS_JOB, "reprocess_job.lua", "parent.lua");
script!(GET_STATE, "get_state.lua");
script!(JOB_FINISHED, "job_finished.lua");
script!(MOVE_TO_DELAYED, "move_to_delayed.lua");
script!(MOVE_TO_WAIT, "move_to_wait.lua");
script!(RELEASE_DEDUP_KEY, "release_dedup_key.lua");
script!(UPDATE_DATA, "update_data.lua");
script!(CHANGE_DELAY, "change_delay.lua");
script!(CHANGE_PRIORITY, "change_priority.lua");
script!(PROMOTE, "promote.lua");
script!(CLEAN_JOBS, "clean_jobs.lua", "parent.lua", "remove.lua");
script!(MOVE_JOBS_TO_WAIT, "move_jobs_to_wait.lua", "parent.lua");
script!(GET_RANGES, "get_ranges.lua");
script!(RATE_LIMIT_TTL, "rate_limit_ttl.lua");
script!(GET_CHILDREN_PAGE, "get_children_page.lua");
script!(REMOVE_ORPHANED_JOBS, "remove_orphaned_jobs.lua");
script!(
    UPSERT_JOB_SCHEDULER,
    "upsert_job_scheduler.lua",
    "iteration.lua"
);
script!(NEXT_ITERATION, "next_iteration.lua", "iteration.lua");
script!(REMOVE_JOB_SCHEDULER, "remove_job_scheduler.lua");

/// A call of one of our scripts on the hot paths, sent as EVALSHA (and loaded on
/// NOSCRIPT) by whichever connection carries it.
pub struct ScriptCall {
    lua: &'static Lua,
    keys: Vec<Vec<u8>>,
    args: Vec<Vec<u8>>,
}

impl ScriptCall {
    /// A call of `lua` with no keys or arguments yet.
    pub fn new(lua: &'static Lua) -> ScriptCall {
        ScriptCall {
            lua,
            keys: Vec::new(),
            args: Vec::new(),
        }
    }

    /// Adds a key.
    pub fn key<T: ToRedisArgs>(&mut self, key: T) -> &mut Self {
        key.write_redis_args(&mut self.keys);
        self
    }

    /// Adds an argument.
    pub fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut Self {
        arg.write_redis_args(&mut self.args);
        self
    }

    /// The script this calls.
    pub fn lua(&self) -> &'static Lua {
        self.lua
    }

    /// The EVALSHA command, packed for the wire.
    pub fn packed(&self) -> Vec<u8> {
        let size: usize = self
            .keys
            .iter()
            .chain(&self.args)
            .map(|a| a.len() + 16)
            .sum();
        let mut out = Vec::with_capacity(size + 96);
        resp::push_array(&mut out, 3 + self.keys.len() + self.args.len());
        resp::push_bulk(&mut out, b"EVALSHA");
        resp::push_bulk(&mut out, self.lua.get_hash().as_bytes());
        resp::push_bulk(&mut out, self.keys.len().to_string().as_bytes());
        for part in self.keys.iter().chain(&self.args) {
            resp::push_bulk(&mut out, part);
        }
        out
    }

    /// The EVALSHA command, for a redis-rs connection.
    pub fn cmd(&self) -> redis::Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(self.lua.get_hash()).arg(self.keys.len());
        for part in self.keys.iter().chain(&self.args) {
            cmd.arg(part.as_slice());
        }
        cmd
    }
}
