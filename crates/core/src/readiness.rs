//! Whether Redis is ready for commands: after a (re)connection it may still be loading its
//! dataset (`INFO persistence` says `loading:1`), and answers `LOADING` to everything else
//! until it is done, so a connection asks first, as ioredis does.

use std::time::Duration;

use redis::aio::ConnectionLike;

/// How often a connection that found Redis loading its dataset asks again.
pub(crate) const LOADING_POLL: Duration = Duration::from_millis(100);

/// Returns once Redis has loaded its dataset (`INFO persistence` says `loading:0`).
pub(crate) async fn wait_loaded<C: ConnectionLike + Send>(conn: &mut C) -> redis::RedisResult<()> {
    loop {
        let info: String = redis::cmd("INFO")
            .arg("persistence")
            .query_async(conn)
            .await?;
        if !is_loading(&info) {
            return Ok(());
        }
        tokio::time::sleep(LOADING_POLL).await;
    }
}

/// Whether an `INFO persistence` reply says Redis is still loading its dataset.
pub(crate) fn is_loading(info: &str) -> bool {
    info.lines().any(|line| line.trim_end() == "loading:1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_loading_state() {
        assert!(is_loading(
            "# Persistence\r\nloading:1\r\nasync_loading:0\r\n"
        ));
        assert!(!is_loading(
            "# Persistence\r\nloading:0\r\nasync_loading:1\r\n"
        ));
    }
}
