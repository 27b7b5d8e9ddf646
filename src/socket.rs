//! Reads a queue's Redis replies on Node's event loop: the JS layer wraps each socket the
//! engine opens in a `net.Socket` and feeds what it reads back here, so a reply reaches
//! JS without a hop through the runtime's thread.

use bullrush_core::ReplyFeed;
use napi::bindgen_prelude::BufferSlice;
use napi_derive::napi;

use crate::reply::{JsReply, NativeReplier};

/// Takes the bytes read from one of the engine's sockets.
#[napi]
pub struct NativeReplyFeed {
    feed: ReplyFeed,
}

#[napi]
impl NativeReplyFeed {
    /// Hands `bytes` to the engine; returns the replies to `replier` they completed, or
    /// null once the engine no longer uses the socket (the caller closes it; the replies
    /// then arrive through `replier`'s callback).
    #[napi]
    pub fn feed(&self, replier: &NativeReplier, bytes: BufferSlice) -> Option<Vec<JsReply>> {
        let mut current = false;
        let replies = replier.gathering(|| {
            napi::bindgen_prelude::within_runtime_if_available(|| {
                current = self.feed.feed(&bytes);
            })
        });
        if current {
            return Some(replies);
        }
        replier.send_later(replies);
        None
    }

    /// Reports that the socket ended, or failed with `reason`.
    #[napi]
    pub fn ended(&self, reason: Option<String>) {
        self.feed.ended(reason);
    }
}

#[cfg(unix)]
pub(crate) use reader::JsSocketReader;

#[cfg(unix)]
mod reader {
    use std::os::fd::{IntoRawFd, OwnedFd};

    use bullrush_core::{LinkSocket, ReplyFeed, SocketReader};
    use napi::bindgen_prelude::{FnArgs, Function, Result, ToNapiValue};
    use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
    use napi::{sys, Status};

    use super::NativeReplyFeed;

    /// What the JS function is declared to take: the socket's feed and its descriptor.
    type Args = FnArgs<(NativeReplyFeed, i32)>;
    type Callback = ThreadsafeFunction<LinkSocket, (), FnArgs<(JsFeed, JsFd)>, Status, false, true>;

    /// A socket's feed on its way to JS; if it never gets there, the socket is
    /// reported ended, so the replies owed on it fail instead of hanging.
    struct JsFeed(Option<ReplyFeed>);

    impl Drop for JsFeed {
        fn drop(&mut self) {
            if let Some(feed) = self.0.take() {
                feed.ended(Some("the socket never reached JS".into()));
            }
        }
    }

    impl ToNapiValue for JsFeed {
        unsafe fn to_napi_value(env: sys::napi_env, mut val: Self) -> Result<sys::napi_value> {
            let Some(feed) = val.0.clone() else {
                return Err(napi::Error::from_reason(
                    "the socket's feed was handed over twice",
                ));
            };
            let value = unsafe { NativeReplyFeed::to_napi_value(env, NativeReplyFeed { feed }) }?;
            val.0 = None;
            Ok(value)
        }
    }

    /// A socket's descriptor on its way to JS, closed if it never gets there.
    struct JsFd(Option<OwnedFd>);

    impl ToNapiValue for JsFd {
        unsafe fn to_napi_value(env: sys::napi_env, mut val: Self) -> Result<sys::napi_value> {
            let Some(fd) = val.0.take() else {
                return Err(napi::Error::from_reason("the socket was handed over twice"));
            };
            unsafe { i32::to_napi_value(env, fd.into_raw_fd()) }
        }
    }

    /// Hands each socket to a JS function, as its feed and its file descriptor.
    pub(crate) struct JsSocketReader {
        callback: Callback,
    }

    impl JsSocketReader {
        pub(crate) fn new(callback: Function<Args, ()>) -> Result<JsSocketReader> {
            let callback = callback
                .build_threadsafe_function::<LinkSocket>()
                .callee_handled::<false>()
                .weak::<true>()
                .build_callback(|ctx| {
                    let LinkSocket { stream, feed } = ctx.value;
                    let fd = JsFd(Some(OwnedFd::from(stream)));
                    Ok(FnArgs::from((JsFeed(Some(feed)), fd)))
                })?;
            Ok(JsSocketReader { callback })
        }
    }

    impl SocketReader for JsSocketReader {
        fn read(&self, socket: LinkSocket) {
            let feed = socket.feed.clone();
            let status = self
                .callback
                .call(socket, ThreadsafeFunctionCallMode::NonBlocking);
            if status != Status::Ok {
                feed.ended(Some(format!("the JS thread took no socket: {status}")));
            }
        }
    }
}
