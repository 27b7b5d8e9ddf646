//! Our Lua scripts, each prepended with the shared helpers (and the includes it names) and
//! invoked by EVALSHA.

use std::sync::LazyLock;

use redis::Script;

macro_rules! script {
    ($name:ident, $file:literal $(, $include:literal)*) => {
        #[doc = concat!("The `", $file, "` script.")]
        pub static $name: LazyLock<Script> = LazyLock::new(|| {
            Script::new(concat!(
                include_str!("scripts/includes/common.lua"),
                "\n",
                $(include_str!(concat!("scripts/includes/", $include)), "\n",)*
                include_str!(concat!("scripts/", $file))
            ))
        });
    };
}

script!(ADD_JOBS, "add_jobs.lua");
script!(FETCH_JOBS, "fetch_jobs.lua", "fetch.lua");
script!(FINISH_JOBS, "finish_jobs.lua", "fetch.lua", "metrics.lua");
script!(EXTEND_LOCKS, "extend_locks.lua");
script!(MOVE_STALLED_JOBS, "move_stalled_jobs.lua");
script!(PAUSE, "pause.lua");
script!(RESUME, "resume.lua");
script!(DRAIN, "drain.lua");
script!(OBLITERATE, "obliterate.lua");
script!(REMOVE_JOB, "remove_job.lua");
script!(UPDATE_PROGRESS, "update_progress.lua");
script!(ADD_LOG, "add_log.lua");
script!(REPROCESS_JOB, "reprocess_job.lua");
script!(GET_STATE, "get_state.lua");
script!(JOB_FINISHED, "job_finished.lua");
script!(MOVE_TO_DELAYED, "move_to_delayed.lua");
script!(MOVE_TO_WAIT, "move_to_wait.lua");
script!(RELEASE_DEDUP_KEY, "release_dedup_key.lua");
script!(UPDATE_DATA, "update_data.lua");
script!(CHANGE_DELAY, "change_delay.lua");
script!(CHANGE_PRIORITY, "change_priority.lua");
script!(PROMOTE, "promote.lua");
script!(CLEAN_JOBS, "clean_jobs.lua", "remove.lua");
script!(MOVE_JOBS_TO_WAIT, "move_jobs_to_wait.lua");
script!(GET_RANGES, "get_ranges.lua");
script!(RATE_LIMIT_TTL, "rate_limit_ttl.lua");
