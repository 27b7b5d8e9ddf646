//! Coalesces concurrent `add` calls into shared script calls: while one add call is in
//! flight, the adds arriving meanwhile wait and go together in the next one, sent from
//! the reply of the previous. Adds made before the queue is ready wait, in call order,
//! until it is.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::add::{add_answers, add_refused, AddAnswer};
use crate::error::{Error, Result};
use crate::options::NewJob;
use crate::queue_base::QueueCore;

/// How many jobs one add script call stores at most.
pub(crate) const ADD_BATCH: usize = 1000;

/// Receives the id an add was stored under (or the id that dropped it).
pub(crate) type AddReply = Box<dyn FnOnce(Result<String>) + Send>;

struct AddRequest {
    job: NewJob,
    reply: AddReply,
}

#[derive(Default)]
struct AddState {
    waiting: Vec<AddRequest>,
    sending: bool,
    /// Whether adds wait for the queue to be ready.
    held: bool,
}

/// Pending adds of one queue and whether a call of them is in flight.
#[derive(Default)]
pub(crate) struct AddCoalescer {
    state: Mutex<AddState>,
}

impl AddCoalescer {
    fn state(&self) -> MutexGuard<'_, AddState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `job`, alone or with the adds made meanwhile; its id goes to `reply`.
    pub fn submit(self: &Arc<Self>, core: &Arc<QueueCore>, job: NewJob, reply: AddReply) {
        let batch = {
            let mut state = self.state();
            state.waiting.push(AddRequest { job, reply });
            take_if_idle(&mut state)
        };
        if let Some(batch) = batch {
            self.send(core, batch);
        }
    }

    /// Keeps `job` with the adds held until `release` or `fail_held`; true when this
    /// started the hold (the caller then makes the queue ready).
    pub fn submit_held(&self, job: NewJob, reply: AddReply) -> bool {
        let mut state = self.state();
        state.waiting.push(AddRequest { job, reply });
        !std::mem::replace(&mut state.held, true)
    }

    /// Sends the held adds.
    pub fn release(self: &Arc<Self>, core: &Arc<QueueCore>) {
        let batch = {
            let mut state = self.state();
            state.held = false;
            take_if_idle(&mut state)
        };
        if let Some(batch) = batch {
            self.send(core, batch);
        }
    }

    /// Fails the held adds with `err`.
    pub fn fail_held(&self, err: Error) {
        let held = {
            let mut state = self.state();
            state.held = false;
            if state.sending {
                return;
            }
            std::mem::take(&mut state.waiting)
        };
        answer(held, Err(err));
    }

    fn send(self: &Arc<Self>, core: &Arc<QueueCore>, batch: Vec<AddRequest>) {
        let call = core.add_call(batch.iter().map(|r| &r.job));
        let (coalescer, owner) = (self.clone(), core.clone());
        core.conn.send_script(
            call,
            Box::new(move |reply| match reply.and_then(add_answers) {
                Err(err) if err.is_transient() => coalescer.send_again(owner, batch, err),
                answers => {
                    coalescer.send_next(&owner);
                    answer(batch, answers);
                }
            }),
        );
    }

    /// Stores `batch` after its call failed with the transient `err`, from the runtime;
    /// the adds made meanwhile wait behind it, so they keep their order.
    fn send_again(self: Arc<Self>, core: Arc<QueueCore>, batch: Vec<AddRequest>, err: Error) {
        let Some(runtime) = core.conn.runtime() else {
            self.send_next(&core);
            return answer(batch, Err(err));
        };
        runtime.spawn(async move {
            let jobs: Vec<&NewJob> = batch.iter().map(|r| &r.job).collect();
            let answers = core.add_again(&jobs, err).await;
            self.send_next(&core);
            answer(batch, answers);
        });
    }

    /// Sends the adds that arrived while the last call was in flight, if any.
    fn send_next(self: &Arc<Self>, core: &Arc<QueueCore>) {
        let batch = {
            let mut state = self.state();
            if state.waiting.is_empty() {
                state.sending = false;
                return;
            }
            take_batch(&mut state)
        };
        self.send(core, batch);
    }
}

/// The next batch to send, when adds wait and no call is in flight or held; the caller
/// then sends it.
fn take_if_idle(state: &mut AddState) -> Option<Vec<AddRequest>> {
    if state.sending || state.held || state.waiting.is_empty() {
        return None;
    }
    state.sending = true;
    Some(take_batch(state))
}

fn take_batch(state: &mut AddState) -> Vec<AddRequest> {
    let n = state.waiting.len().min(ADD_BATCH);
    state.waiting.drain(..n).collect()
}

fn answer(batch: Vec<AddRequest>, answers: Result<Vec<AddAnswer>>) {
    match answers {
        Ok(answers) => {
            for (request, answer) in batch.into_iter().zip(answers) {
                let result = answer.map_err(|code| add_refused(code, &request.job));
                (request.reply)(result);
            }
        }
        Err(err) => {
            for request in batch {
                (request.reply)(Err(err.clone()));
            }
        }
    }
}
