//! `install` and `current_threads`: the pool this thread's parallel work runs on, if any.
//!
//! The pool is per thread (the thread that installs it is its caller thread): work started
//! on another thread (a worker, a scoped thread) sees none and runs alone.

use std::cell::RefCell;
use std::rc::Rc;

use super::pool::ThreadPool;

thread_local! {
    static CURRENT: RefCell<Option<Rc<ThreadPool>>> = const { RefCell::new(None) };
}

/// Makes a pool the current thread's until dropped, then restores the previous one.
#[must_use = "the pool is uninstalled when the guard is dropped"]
pub struct Installed {
    previous: Option<Rc<ThreadPool>>,
}

impl std::fmt::Debug for Installed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Installed").finish_non_exhaustive()
    }
}

/// Make a pool of `n_threads` threads (counting this one) the pool that this thread's
/// parallel work (matrix products, the optimizer step, batch gathering, preprocessing)
/// splits over, while the guard lives. 0 or 1 installs none: the work runs on this thread
/// alone. Results are the same for any `n_threads`.
pub fn install(n_threads: usize) -> Installed {
    let pool = (n_threads > 1).then(|| Rc::new(ThreadPool::new(n_threads)));
    let previous = CURRENT.with(|current| std::mem::replace(&mut *current.borrow_mut(), pool));
    Installed { previous }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}

/// The threads of the pool installed on this thread, this one included: 1 when none is.
pub fn current_threads() -> usize {
    CURRENT.with(|current| current.borrow().as_ref().map_or(1, |pool| pool.n_threads()))
}

/// The current thread's pool, if one is installed.
pub(crate) fn current() -> Option<Rc<ThreadPool>> {
    CURRENT.with(|current| current.borrow().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_nests_and_restores() {
        assert!(current().is_none());
        {
            let _outer = install(2);
            assert_eq!(current().map(|p| p.n_threads()), Some(2));
            {
                let _inner = install(1);
                assert!(current().is_none());
            }
            assert_eq!(current().map(|p| p.n_threads()), Some(2));
        }
        assert!(current().is_none());
    }

    #[test]
    fn current_threads_follows_the_installed_pool() {
        assert_eq!(current_threads(), 1);
        {
            let _pool = install(3);
            assert_eq!(current_threads(), 3);
            // Another thread has no pool.
            assert_eq!(std::thread::spawn(current_threads).join().unwrap(), 1);
            let _none = install(0);
            assert_eq!(current_threads(), 1);
        }
        assert_eq!(current_threads(), 1);
    }
}
