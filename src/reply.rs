//! Replies to JS requests through one long-lived threadsafe function per JS object,
//! instead of a promise (and its own threadsafe function) per call: cheaper on hot paths.
//! Replies answered on the JS thread itself (while it feeds a socket's bytes to the
//! engine) are gathered and returned to that call instead.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;

use napi::bindgen_prelude::{Function, Result};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

use crate::convert::{js_error, JsAdded, JsJob};

/// The answer to request `request`: an error (`<code>|<message>`), the added jobs (an
/// add) or the job read (a read).
#[napi(object)]
pub struct JsReply {
    pub request: u32,
    pub error: Option<String>,
    pub added: Vec<JsAdded>,
    pub job: Option<JsJob>,
}

/// What a request answers with.
pub(crate) enum Answer {
    Added(Vec<JsAdded>),
    Read(Option<Box<JsJob>>),
}

type Callback = ThreadsafeFunction<JsReply, (), JsReply, Status, false, true>;

/// A reply and the channel it was meant to go through.
type Gathered = (Arc<Callback>, JsReply);

thread_local! {
    /// Replies answered on this thread while `NativeReplier::gathering` runs.
    static GATHERED: RefCell<Option<Vec<Gathered>>> = const { RefCell::new(None) };
}

/// Keeps `reply` for the running `gathering` call; hands it back when none runs here.
fn gather(callback: &Arc<Callback>, reply: JsReply) -> Option<JsReply> {
    GATHERED.with_borrow_mut(|gathered| match gathered {
        Some(list) => {
            list.push((callback.clone(), reply));
            None
        }
        None => Some(reply),
    })
}

/// Stops gathering when dropped, also when the gathering call unwinds.
struct Gathering;

impl Gathering {
    fn start() -> Gathering {
        GATHERED.set(Some(Vec::new()));
        Gathering
    }

    fn finish(self) -> Vec<Gathered> {
        GATHERED.take().unwrap_or_default()
    }
}

impl Drop for Gathering {
    fn drop(&mut self) {
        GATHERED.set(None);
    }
}

/// The channel a JS object receives its replies on.
#[napi]
pub struct NativeReplier {
    callback: Arc<Callback>,
}

#[napi]
impl NativeReplier {
    #[napi(constructor)]
    pub fn new(callback: Function<JsReply, ()>) -> Result<Self> {
        let callback = callback
            .build_threadsafe_function()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        Ok(NativeReplier {
            callback: Arc::new(callback),
        })
    }
}

impl NativeReplier {
    /// Runs `run` on this thread and returns the replies to this replier it answered;
    /// replies to other repliers go through their threadsafe functions.
    pub(crate) fn gathering(&self, run: impl FnOnce()) -> Vec<JsReply> {
        let gathering = Gathering::start();
        run();
        let mut mine = Vec::new();
        for (callback, reply) in gathering.finish() {
            if Arc::ptr_eq(&callback, &self.callback) {
                mine.push(reply);
            } else {
                callback.call(reply, ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
        mine
    }

    /// Sends `replies` through this replier's threadsafe function.
    pub(crate) fn send_later(&self, replies: Vec<JsReply>) {
        for reply in replies {
            self.callback
                .call(reply, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// Runs `work` on the runtime and sends its outcome as the reply to `request`.
    pub(crate) fn spawn<F>(&self, request: u32, work: F)
    where
        F: Future<Output = bullrush_core::Result<Answer>> + Send + 'static,
    {
        let answer = self.answer(request);
        napi::bindgen_prelude::spawn(async move { answer(work.await) });
    }

    /// A function that sends its argument as the reply to `request`, from any thread.
    pub(crate) fn answer(
        &self,
        request: u32,
    ) -> impl FnOnce(bullrush_core::Result<Answer>) + Send + 'static {
        let callback = self.callback.clone();
        move |outcome| {
            let mut reply = JsReply {
                request,
                error: None,
                added: Vec::new(),
                job: None,
            };
            match outcome {
                Ok(Answer::Added(added)) => reply.added = added,
                Ok(Answer::Read(job)) => reply.job = job.map(|job| *job),
                Err(err) => reply.error = Some(js_error(err).reason.clone()),
            }
            if let Some(reply) = gather(&callback, reply) {
                callback.call(reply, ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
    }
}
