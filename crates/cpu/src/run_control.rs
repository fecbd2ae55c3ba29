//! Stopping a running realm CPU from another thread, and bounding how long one run may take.
//!
//! On hardware a host interrupt (an IPI from the thread that wants the vCPU back) ends a realm's run with an
//! IRQ exit to EL2. A [`RunControl`] is that wire: another thread calls [`RunControl::kick`], and the CPU,
//! which polls it at least every few thousand instructions, ends its run with [`crate::RealmExit::Irq`]. The
//! instruction budget ends a run the same way after a number of instructions, so a spinning guest cannot
//! hold its thread forever.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug, Default)]
struct Shared {
    kicked: AtomicBool,
    budget: AtomicU64,
}

/// A stop/kick token shared between a realm CPU and the threads that may interrupt it; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct RunControl {
    shared: Arc<Shared>,
}

impl RunControl {
    /// A token with no kick pending and no budget (runs are unbounded).
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask the CPU to stop: its current (or next) run returns [`crate::RealmExit::Irq`] soon.
    pub fn kick(&self) {
        self.shared.kicked.store(true, Ordering::Release);
    }

    /// Whether a kick is pending (without consuming it).
    pub fn is_kicked(&self) -> bool {
        self.shared.kicked.load(Ordering::Acquire)
    }

    /// Consume a pending kick: true when there was one. A CPU calls this when it ends a run because of it.
    pub fn take_kick(&self) -> bool {
        self.shared.kicked.swap(false, Ordering::AcqRel)
    }

    /// Limit each run to about `instructions` instructions (0: unlimited); a run that reaches it returns
    /// [`crate::RealmExit::Irq`].
    pub fn set_budget(&self, instructions: u64) {
        self.shared.budget.store(instructions, Ordering::Relaxed);
    }

    /// The per-run instruction budget (0: unlimited).
    pub fn budget(&self) -> u64 {
        self.shared.budget.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kick_is_seen_by_a_clone_on_another_thread_and_consumed_once() {
        let token = RunControl::new();
        let other = token.clone();
        std::thread::spawn(move || other.kick())
            .join()
            .expect("kicking thread");
        assert!(token.is_kicked(), "kick from another thread not visible");
        assert!(token.take_kick(), "take_kick did not report the kick");
        assert!(!token.take_kick(), "a kick was consumed twice");
    }

    #[test]
    fn budget_defaults_to_unlimited_and_is_shared() {
        let token = RunControl::new();
        assert_eq!(token.budget(), 0);
        token.clone().set_budget(1000);
        assert_eq!(token.budget(), 1000);
    }
}
