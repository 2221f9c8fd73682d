//! Locks that survive a panicking holder.
//!
//! Every mutex in estatewatch guards state that each update leaves
//! consistent (a single assignment, a push, a counter), so a thread that
//! panicked while holding one leaves nothing half-done behind. Rather than
//! spreading that panic to every other thread (one camera's trouble must
//! never stop another), the data is used as it is.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Locks `m`, recovering the data if a thread panicked while holding it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `ready` for at most `timeout` (see [`Condvar::wait_timeout`]),
/// recovering a poisoned lock as [`lock`] does. Returns the guard whether
/// woken, timed out or woken spuriously: callers check their condition again.
pub fn wait_timeout<'a, T>(
    ready: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Duration,
) -> MutexGuard<'a, T> {
    match ready.wait_timeout(guard, timeout) {
        Ok((g, _)) => g,
        Err(p) => p.into_inner().0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn poisoned() -> Arc<Mutex<Vec<u32>>> {
        let m = Arc::new(Mutex::new(vec![1, 2]));
        let m2 = m.clone();
        let r = std::thread::spawn(move || {
            let mut g = m2.lock().unwrap();
            g.push(3);
            panic!("holder panics");
        })
        .join();
        assert!(r.is_err());
        assert!(m.is_poisoned());
        m
    }

    #[test]
    fn a_poisoned_lock_gives_back_its_data() {
        let m = poisoned();
        assert_eq!(*lock(&m), vec![1, 2, 3]);
        lock(&m).push(4);
        assert_eq!(lock(&m).len(), 4);
    }

    #[test]
    fn wait_timeout_returns_after_the_timeout_even_when_poisoned() {
        let m = poisoned();
        let ready = Condvar::new();
        let g = wait_timeout(&ready, lock(&m), Duration::from_millis(5));
        assert_eq!(*g, vec![1, 2, 3]);
    }
}
