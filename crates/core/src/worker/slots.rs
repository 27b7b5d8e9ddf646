//! Concurrency slots: a semaphore whose size follows the worker's `concurrency`, also when
//! it changes while jobs hold slots.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A slot one job holds while the worker has it.
pub(crate) type Slot = OwnedSemaphorePermit;

pub(crate) struct Slots {
    semaphore: Arc<Semaphore>,
    concurrency: AtomicUsize,
    /// Slots held by jobs beyond a lowered concurrency: forgotten as they come back
    /// instead of being used again.
    debt: AtomicUsize,
}

impl Slots {
    /// `concurrency` free slots.
    pub fn new(concurrency: usize) -> Slots {
        Slots {
            semaphore: Arc::new(Semaphore::new(concurrency)),
            concurrency: AtomicUsize::new(concurrency),
            debt: AtomicUsize::new(0),
        }
    }

    /// The concurrency in effect.
    pub fn concurrency(&self) -> usize {
        self.concurrency.load(Ordering::SeqCst)
    }

    /// Changes the number of slots; held slots beyond a lower number are taken away as
    /// their jobs let go of them.
    pub fn resize(&self, concurrency: usize) {
        let old = self.concurrency.swap(concurrency, Ordering::SeqCst);
        if concurrency > old {
            let more = concurrency - old;
            let cancelled = self.claim_debt(more);
            self.semaphore.add_permits(more - cancelled);
        } else if concurrency < old {
            let fewer = old - concurrency;
            let forgotten = self.semaphore.forget_permits(fewer);
            self.debt.fetch_add(fewer - forgotten, Ordering::SeqCst);
        }
    }

    /// Waits for a free slot, then takes every other free one.
    pub async fn take(&self) -> Option<Vec<Slot>> {
        loop {
            let first = self.semaphore.clone().acquire_owned().await.ok()?;
            let mut slots = vec![first];
            while let Ok(slot) = self.semaphore.clone().try_acquire_owned() {
                slots.push(slot);
            }
            let owed = self.claim_debt(slots.len());
            self.forget(&mut slots, owed);
            if !slots.is_empty() {
                return Some(slots);
            }
        }
    }

    /// Takes up to `n` slots of debt: the caller forgets as many of the slots it frees
    /// (with `forget`) instead of using them again.
    pub fn claim_debt(&self, n: usize) -> usize {
        let mut claimed = 0;
        let _ = self
            .debt
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |debt| {
                claimed = debt.min(n);
                Some(debt - claimed)
            });
        claimed
    }

    /// Forgets `owed` of `slots` (claimed with `claim_debt`); what `slots` cannot cover
    /// stays owed.
    pub fn forget(&self, slots: &mut Vec<Slot>, owed: usize) {
        for _ in 0..owed {
            match slots.pop() {
                Some(slot) => slot.forget(),
                None => {
                    self.debt.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free(slots: &Slots) -> usize {
        slots.semaphore.available_permits()
    }

    #[tokio::test]
    async fn lowering_takes_held_slots_away_as_they_come_back() {
        let slots = Slots::new(4);
        let mut held = slots.take().await.unwrap();
        assert_eq!(held.len(), 4);
        slots.resize(2);
        let owed = slots.claim_debt(3);
        assert_eq!(owed, 2);
        let mut finished: Vec<Slot> = held.drain(..3).collect();
        slots.forget(&mut finished, owed);
        assert_eq!(
            finished.len(),
            1,
            "one of three freed slots is usable again"
        );
        drop(finished);
        drop(held);
        assert_eq!(free(&slots), 2);
    }

    #[tokio::test]
    async fn raising_cancels_debt_first() {
        let slots = Slots::new(3);
        let held = slots.take().await.unwrap();
        slots.resize(1);
        slots.resize(2);
        drop(held);
        let taken = slots.take().await.unwrap();
        assert_eq!(taken.len(), 2);
        assert_eq!(slots.concurrency(), 2);
    }
}
