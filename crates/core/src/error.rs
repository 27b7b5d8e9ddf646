//! The engine's error type: one variant per cause.

use std::fmt;

/// A failed engine operation.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An argument was rejected before anything reached Redis.
    InvalidArgument(String),
    /// Redis could not be reached at the given address.
    Connection { addr: String, message: String },
    /// Redis answered with an error, or the answer was not understood.
    Redis(String),
    /// A script refused the operation with one of BullMQ's numeric codes.
    Script {
        code: ScriptCode,
        job_id: String,
        command: String,
        state: &'static str,
    },
    /// The object was closed before or during the operation.
    Closed,
    /// A request waited for Redis as long as its connection options allow and is given
    /// up; `cause` is the last error it met.
    GaveUp { limit: GiveUp, cause: Box<Error> },
}

/// Why a request that met a transient error was not sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// `maxRetriesPerRequest`: the reconnection attempts it allows are used up.
    MaxRetries(u32),
    /// `enableOfflineQueue: false`: requests never wait for a connection.
    OfflineQueueDisabled,
}

/// The error replies Redis gives while it cannot serve commands for a while: loading its
/// dataset, running a long script, without a reachable master, or mid-failover.
const TRANSIENT_REPLIES: [&str; 6] = [
    "LOADING",
    "BUSY",
    "MASTERDOWN",
    "TRYAGAIN",
    "CLUSTERDOWN",
    "READONLY",
];

/// BullMQ's numeric error codes returned by its state-changing scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptCode {
    JobNotExist,
    JobLockNotExist,
    JobNotInState,
    JobPendingChildren,
    ParentJobNotExist,
    JobLockMismatch,
    ParentJobCannotBeReplaced,
    JobBelongsToJobScheduler,
    JobHasFailedChildren,
    SchedulerJobIdCollision,
    SchedulerJobSlotsBusy,
    Unknown(i64),
}

impl ScriptCode {
    /// Maps a negative script reply to its code.
    pub fn from_reply(code: i64) -> ScriptCode {
        match code {
            -1 => ScriptCode::JobNotExist,
            -2 => ScriptCode::JobLockNotExist,
            -3 => ScriptCode::JobNotInState,
            -4 => ScriptCode::JobPendingChildren,
            -5 => ScriptCode::ParentJobNotExist,
            -6 => ScriptCode::JobLockMismatch,
            -7 => ScriptCode::ParentJobCannotBeReplaced,
            -8 => ScriptCode::JobBelongsToJobScheduler,
            -9 => ScriptCode::JobHasFailedChildren,
            -10 => ScriptCode::SchedulerJobIdCollision,
            -11 => ScriptCode::SchedulerJobSlotsBusy,
            other => ScriptCode::Unknown(other),
        }
    }

    /// The numeric code BullMQ attaches to the JS error.
    pub fn number(self) -> i64 {
        match self {
            ScriptCode::JobNotExist => -1,
            ScriptCode::JobLockNotExist => -2,
            ScriptCode::JobNotInState => -3,
            ScriptCode::JobPendingChildren => -4,
            ScriptCode::ParentJobNotExist => -5,
            ScriptCode::JobLockMismatch => -6,
            ScriptCode::ParentJobCannotBeReplaced => -7,
            ScriptCode::JobBelongsToJobScheduler => -8,
            ScriptCode::JobHasFailedChildren => -9,
            ScriptCode::SchedulerJobIdCollision => -10,
            ScriptCode::SchedulerJobSlotsBusy => -11,
            ScriptCode::Unknown(n) => n,
        }
    }
}

impl Error {
    /// Builds the error for a negative script reply about `job_id`, expected in `state`.
    pub fn script(code: i64, job_id: &str, command: &str, state: &'static str) -> Error {
        Error::Script {
            code: ScriptCode::from_reply(code),
            job_id: job_id.to_string(),
            command: command.to_string(),
            state,
        }
    }

    /// Whether the error comes from an unreachable or lost connection (also when a
    /// request gave up waiting for it).
    pub fn is_connection(&self) -> bool {
        match self {
            Error::Connection { .. } => true,
            Error::GaveUp { cause, .. } => cause.is_connection(),
            _ => false,
        }
    }

    /// Whether sending the same request again later may succeed: the connection failed
    /// (reset, refused, closed by the server) or Redis answered that it cannot serve
    /// commands for now (`LOADING`, `BUSY`, `MASTERDOWN`, `TRYAGAIN`, `CLUSTERDOWN`,
    /// `READONLY`). Everything else is final.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connection { .. } => true,
            Error::Redis(message) => is_transient_reply(message),
            _ => false,
        }
    }

    /// Whether the request is known not to have run: Redis refused it, or it never
    /// reached Redis. A request whose connection dropped while its reply was owed may
    /// have run.
    pub fn never_ran(&self) -> bool {
        match self {
            Error::Connection { message, .. } => message == "ECONNREFUSED",
            Error::Redis(message) => is_transient_reply(message),
            _ => false,
        }
    }

    /// Whether the input was rejected before reaching Redis.
    pub fn is_invalid_argument(&self) -> bool {
        matches!(self, Error::InvalidArgument(_))
    }

    /// A short machine-readable name for the cause.
    pub fn code_name(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "ERR_INVALID_ARG",
            Error::Connection { .. } => "ERR_CONNECTION",
            Error::Redis(_) => "ERR_REDIS",
            Error::Script { .. } => "ERR_SCRIPT",
            Error::Closed => "ERR_CLOSED",
            Error::GaveUp {
                limit: GiveUp::MaxRetries(_),
                ..
            } => "ERR_MAX_RETRIES",
            Error::GaveUp {
                limit: GiveUp::OfflineQueueDisabled,
                ..
            } => "ERR_OFFLINE",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument(msg) => f.write_str(msg),
            Error::Connection { addr, message } if message.starts_with("ECONN") => {
                write!(f, "connect {message} {addr}")
            }
            Error::Connection { addr, message } => write!(f, "{message} (Redis at {addr})"),
            Error::Redis(msg) => f.write_str(msg),
            Error::Script {
                code,
                job_id,
                command,
                state,
            } => write_script_error(f, *code, job_id, command, state),
            Error::Closed => f.write_str("Connection is closed."),
            Error::GaveUp {
                limit: GiveUp::MaxRetries(n),
                cause,
            } => write!(
                f,
                "Reached the max retries per request limit (which is {n}). Refer to \"maxRetriesPerRequest\" option for details. Last error: {cause}"
            ),
            Error::GaveUp {
                limit: GiveUp::OfflineQueueDisabled,
                cause,
            } => write!(
                f,
                "Stream isn't writeable and enableOfflineQueue options is false ({cause})"
            ),
        }
    }
}

fn write_script_error(
    f: &mut fmt::Formatter<'_>,
    code: ScriptCode,
    id: &str,
    cmd: &str,
    state: &str,
) -> fmt::Result {
    match code {
        ScriptCode::JobNotExist => write!(f, "Missing key for job {id}. {cmd}"),
        ScriptCode::JobLockNotExist => write!(f, "Missing lock for job {id}. {cmd}"),
        ScriptCode::JobNotInState => write!(f, "Job {id} is not in the {state} state. {cmd}"),
        ScriptCode::JobPendingChildren => {
            write!(f, "Job {id} has pending dependencies. {cmd}")
        }
        ScriptCode::ParentJobNotExist => write!(f, "Missing key for parent job {id}. {cmd}"),
        ScriptCode::JobLockMismatch => {
            write!(f, "Lock mismatch for job {id}. Cmd {cmd} from {state}")
        }
        ScriptCode::ParentJobCannotBeReplaced => {
            write!(f, "The parent job {id} cannot be replaced. {cmd}")
        }
        ScriptCode::JobBelongsToJobScheduler => write!(
            f,
            "Job {id} belongs to a job scheduler and cannot be removed directly. {cmd}"
        ),
        ScriptCode::JobHasFailedChildren => write!(
            f,
            "Cannot complete job {id} because it has at least one failed child. {cmd}"
        ),
        ScriptCode::SchedulerJobIdCollision => write!(
            f,
            "Cannot create job scheduler iteration - job ID already exists. {cmd}"
        ),
        ScriptCode::SchedulerJobSlotsBusy => write!(
            f,
            "Cannot create job scheduler iteration - current and next time slots already have jobs. {cmd}"
        ),
        ScriptCode::Unknown(n) => write!(f, "Unknown code {n} error for {id}. {cmd}"),
    }
}

/// Whether a Redis error reply (as Redis words it: `LOADING Redis is loading ...`) says
/// the server cannot serve commands for now.
fn is_transient_reply(message: &str) -> bool {
    let code = message.split_whitespace().next().unwrap_or("");
    TRANSIENT_REPLIES.contains(&code)
}

impl std::error::Error for Error {}

impl From<redis::RedisError> for Error {
    fn from(err: redis::RedisError) -> Error {
        match err.code().filter(|code| TRANSIENT_REPLIES.contains(code)) {
            Some(code) => Error::Redis(format!("{code} {}", err.detail().unwrap_or_default())),
            None => Error::Redis(err.to_string()),
        }
    }
}

/// The engine's result type.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(text: &str) -> Error {
        Error::Redis(text.into())
    }

    #[test]
    fn classifies_errors() {
        let conn = |message: &str| Error::Connection {
            addr: "127.0.0.1:1".into(),
            message: message.into(),
        };
        assert!(conn("ECONNREFUSED").is_transient());
        assert!(conn("ECONNREFUSED").never_ran());
        assert!(conn("Connection reset by peer (os error 104)").is_transient());
        assert!(!conn("Connection reset by peer (os error 104)").never_ran());
        for code in TRANSIENT_REPLIES {
            let err = reply(&format!("{code} the server cannot serve this now"));
            assert!(err.is_transient(), "{code}");
            assert!(err.never_ran(), "{code}");
        }
        assert!(!reply("ERR wrong number of arguments").is_transient());
        assert!(!reply("NOSCRIPT No matching script").is_transient());
        assert!(!reply("BUSYGROUP Consumer Group name already exists").is_transient());
        assert!(!Error::Closed.is_transient());
        assert!(!Error::InvalidArgument("x".into()).is_transient());
    }
}
