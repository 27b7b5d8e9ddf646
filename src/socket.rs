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
    /// null once the engine no longer uses the socket (the caller closes it).
    #[napi]
    pub fn feed(&self, replier: &NativeReplier, bytes: BufferSlice) -> Option<Vec<JsReply>> {
        let mut current = false;
        let replies = replier.gathering(|| {
            napi::bindgen_prelude::within_runtime_if_available(|| {
                current = self.feed.feed(&bytes);
            })
        });
        current.then_some(replies)
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
    use std::os::fd::IntoRawFd;

    use bullrush_core::{LinkSocket, SocketReader};
    use napi::bindgen_prelude::{FnArgs, Function, Result};
    use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
    use napi::Status;

    use super::NativeReplyFeed;

    type Args = FnArgs<(i32, NativeReplyFeed)>;
    type Callback = ThreadsafeFunction<LinkSocket, (), Args, Status, false, true>;

    /// Hands each socket to a JS function, as a file descriptor and its feed.
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
                    Ok(FnArgs::from((
                        stream.into_raw_fd(),
                        NativeReplyFeed { feed },
                    )))
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
