//! The pool's instance slots, handed out one per decision: a counting
//! semaphore in front of wasmtime's pooling allocator.
//!
//! The pool has a fixed number of slots, and wasmtime fails an instantiation
//! when none is free. A decision that failed that way would be stored as a
//! plug-in error and the person not paid, because more threads happened to
//! decide at once than the pool had slots. So a decision takes a slot here
//! first, waiting for one if need be, and instantiates only then; the pool is
//! sized so that a slot held here always finds everything it needs in the pool
//! (`engine.rs`). Waiting changes nothing in the decision: its fuel, epoch
//! deadline and store begin once it has its slot.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

/// Slots free, and the threads waiting for one.
pub(crate) struct Slots {
    /// Slots free; below zero, minus the number of threads that wait for one.
    /// A decision that finds a slot free takes it with this one atomic
    /// operation, and gives it back with another: no lock, no system call.
    free: AtomicI64,
    /// Slots given back to waiting threads, not yet taken by one of them.
    handed: Mutex<u64>,
    freed: Condvar,
}

/// A slot taken; given back when dropped.
pub(crate) struct Slot<'a> {
    slots: &'a Slots,
}

impl Slots {
    /// `count` slots, all free.
    pub(crate) fn new(count: u32) -> Slots {
        Slots { free: AtomicI64::new(i64::from(count)), handed: Mutex::new(0), freed: Condvar::new() }
    }

    /// Take a slot, waiting until one is free.
    pub(crate) fn take(&self) -> Slot<'_> {
        if self.free.fetch_sub(1, Ordering::AcqRel) <= 0 {
            // None was free, and this thread now counts as waiting: the next
            // slot given back is handed to it (or to another waiting thread,
            // which is the same). Nothing panics while holding the lock; a
            // poisoned one is still sound.
            let mut handed = self.handed.lock().unwrap_or_else(PoisonError::into_inner);
            while *handed == 0 {
                handed = self.freed.wait(handed).unwrap_or_else(PoisonError::into_inner);
            }
            *handed -= 1;
        }
        Slot { slots: self }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if self.slots.free.fetch_add(1, Ordering::AcqRel) < 0 {
            // A thread waits (or is about to): hand it this slot.
            *self.slots.handed.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            self.slots.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_taker_waits_for_a_slot_given_back() {
        let slots = Slots::new(2);
        let (a, b) = (slots.take(), slots.take());
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let _third = slots.take();
                tx.send(()).unwrap();
            });
            assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "took a third of two slots");
            drop(a);
            rx.recv_timeout(Duration::from_secs(10)).expect("the slot given back was taken");
        });
        drop(b);
    }

    #[test]
    fn never_more_held_than_there_are_slots() {
        const SLOTS: u32 = 3;
        let slots = Slots::new(SLOTS);
        let (held, most) = (AtomicU32::new(0), AtomicU32::new(0));
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| {
                    for _ in 0..2000 {
                        let _slot = slots.take();
                        let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::hint::spin_loop();
                        held.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(most.load(Ordering::SeqCst) <= SLOTS, "{} held at once", most.load(Ordering::SeqCst));
        // All given back, none left handed over to a waiter that never came.
        assert_eq!(slots.free.load(Ordering::SeqCst), i64::from(SLOTS));
        assert_eq!(*slots.handed.lock().unwrap(), 0);
        let all: Vec<Slot<'_>> = (0..SLOTS).map(|_| slots.take()).collect();
        assert_eq!(all.len(), SLOTS as usize);
    }
}
