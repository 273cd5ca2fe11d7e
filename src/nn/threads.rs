//! `ThreadPool`: worker threads started once per training run that the matrix products of
//! a step split their work over, and `install`, which makes a pool the current thread's for
//! as long as the returned guard lives.
//!
//! A training step at W1-wide runs seven products of 0.1 to 0.3 ms each, so a thread
//! spawned per product costs more than it saves. The workers here stay alive: between jobs
//! they spin for a while (a step's products follow each other within microseconds) and
//! then park. A job is a closure called once on each thread with the thread's index, the
//! caller being index 0; `run` returns when every thread has finished its call.
//!
//! The workers copy the caller's float control register (MXCSR: the flush-to-zero flags set
//! by `FlushDenormals`) before each job, so a product computes the same bits on any thread.

use std::cell::{RefCell, UnsafeCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How long an idle worker spins before it parks.
const SPIN: Duration = Duration::from_micros(300);

type Job = *const (dyn Fn(usize) + Sync);

struct Shared {
    /// Bumped once per job; a worker runs a job when it sees a new value.
    generation: AtomicUsize,
    /// The current job; written by the caller only while no worker is running one.
    job: UnsafeCell<Option<Job>>,
    /// The caller's MXCSR for the current job.
    mxcsr: AtomicU32,
    /// Workers that have not finished the current job.
    remaining: AtomicUsize,
    panicked: AtomicBool,
    shutdown: AtomicBool,
}

// SAFETY: `job` is written by the thread that owns the pool only while `remaining` is 0 (no
// worker reads it), and read by workers only after they acquire the new `generation` that
// the write happens-before; every other field is atomic.
unsafe impl Sync for Shared {}
// SAFETY: as above; the raw job pointer is only dereferenced under that protocol.
unsafe impl Send for Shared {}

struct Worker {
    handle: Option<JoinHandle<()>>,
    thread: Thread,
    sleeping: Arc<AtomicBool>,
}

/// `n_threads - 1` parked worker threads plus the calling thread.
pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: Vec<Worker>,
}

impl std::fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPool")
            .field("n_threads", &self.n_threads())
            .finish()
    }
}

impl ThreadPool {
    /// A pool of `n_threads` (at least 1) threads counting the caller: starts `n_threads - 1`.
    pub fn new(n_threads: usize) -> Self {
        let shared = Arc::new(Shared {
            generation: AtomicUsize::new(0),
            job: UnsafeCell::new(None),
            mxcsr: AtomicU32::new(0),
            remaining: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
        });
        let workers = (1..n_threads.max(1))
            .map(|index| {
                let sleeping = Arc::new(AtomicBool::new(false));
                let (shared, flag) = (Arc::clone(&shared), Arc::clone(&sleeping));
                let handle = thread::Builder::new()
                    .name(format!("csvnn-worker-{index}"))
                    .spawn(move || worker_loop(&shared, &flag, index))
                    .expect("the OS can start a thread");
                Worker {
                    thread: handle.thread().clone(),
                    handle: Some(handle),
                    sleeping,
                }
            })
            .collect();
        ThreadPool { shared, workers }
    }

    /// Threads that take part in a job, the caller included.
    pub fn n_threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Call `f(i)` once for each thread index `i` in `0..n_threads()`, `f(0)` on the
    /// calling thread, and return when all calls have finished. Panics if a call panicked.
    pub fn run(&self, f: &(dyn Fn(usize) + Sync)) {
        if self.workers.is_empty() {
            f(0);
            return;
        }
        let shared = &*self.shared;
        // SAFETY: the lifetime is erased only for the duration of this call: `Wait` below
        // blocks (even when `f(0)` unwinds) until every worker has finished with the job.
        let job: Job = unsafe {
            std::mem::transmute::<&(dyn Fn(usize) + Sync), &'static (dyn Fn(usize) + Sync)>(f)
        };
        // SAFETY: `remaining` is 0 here (the previous `run` waited for it), so no worker
        // reads `job` until the generation below is published.
        unsafe { *shared.job.get() = Some(job) };
        shared.mxcsr.store(read_mxcsr(), Ordering::Relaxed);
        shared
            .remaining
            .store(self.workers.len(), Ordering::Relaxed);
        shared.generation.fetch_add(1, Ordering::SeqCst);
        for worker in &self.workers {
            if worker.sleeping.load(Ordering::SeqCst) {
                worker.thread.unpark();
            }
        }
        let wait = Wait(shared);
        f(0);
        drop(wait);
        if shared.panicked.swap(false, Ordering::Relaxed) {
            panic!("a worker thread panicked");
        }
    }
}

/// Blocks until the workers have finished the current job, when dropped.
struct Wait<'a>(&'a Shared);

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        let mut spins = 0u32;
        while self.0.remaining.load(Ordering::Acquire) != 0 {
            spins = spins.saturating_add(1);
            if spins < 1 << 16 {
                std::hint::spin_loop();
            } else {
                thread::yield_now();
            }
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        for worker in &mut self.workers {
            worker.thread.unpark();
            if let Some(handle) = worker.handle.take() {
                let _ = handle.join();
            }
        }
    }
}

fn worker_loop(shared: &Shared, sleeping: &AtomicBool, index: usize) {
    let mut seen = 0;
    loop {
        // Wait for a new generation: spin, then park.
        let mut idle_since = Instant::now();
        let mut spins = 0u32;
        loop {
            if shared.shutdown.load(Ordering::Acquire) {
                return;
            }
            let generation = shared.generation.load(Ordering::Acquire);
            if generation != seen {
                seen = generation;
                break;
            }
            spins = spins.wrapping_add(1);
            std::hint::spin_loop();
            if spins.is_multiple_of(64) && idle_since.elapsed() > SPIN {
                sleeping.store(true, Ordering::SeqCst);
                if shared.generation.load(Ordering::SeqCst) == seen
                    && !shared.shutdown.load(Ordering::SeqCst)
                {
                    thread::park();
                }
                sleeping.store(false, Ordering::SeqCst);
                idle_since = Instant::now();
            }
        }
        set_mxcsr(shared.mxcsr.load(Ordering::Relaxed));
        // SAFETY: the caller wrote `job` before publishing this generation (acquired
        // above) and keeps the closure alive until `remaining` reaches 0.
        let job = unsafe { (*shared.job.get()).expect("a job is set with its generation") };
        // SAFETY: see above: the closure outlives this call.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { (*job)(index) }));
        if result.is_err() {
            shared.panicked.store(true, Ordering::Relaxed);
        }
        shared.remaining.fetch_sub(1, Ordering::Release);
    }
}

#[allow(deprecated)] // _mm_getcsr: no stable replacement yet.
fn read_mxcsr() -> u32 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE (and so MXCSR) is part of every x86-64 CPU; reading it has no effect.
    unsafe {
        std::arch::x86_64::_mm_getcsr()
    }
    #[cfg(not(target_arch = "x86_64"))]
    0
}

#[allow(deprecated)] // _mm_setcsr: no stable replacement yet.
fn set_mxcsr(value: u32) {
    #[cfg(target_arch = "x86_64")]
    if read_mxcsr() != value {
        // SAFETY: the value was read from another thread's MXCSR on the same machine, so
        // it is valid; it sets the same rounding and flush modes as that thread's.
        unsafe { std::arch::x86_64::_mm_setcsr(value) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<ThreadPool>>> = const { RefCell::new(None) };
}

/// Makes a pool the current thread's until dropped, then restores the previous one.
#[must_use = "the pool is uninstalled when the guard is dropped"]
pub struct Installed {
    previous: Option<Rc<ThreadPool>>,
}

/// Make a pool of `n_threads` threads (counting this one) the pool that this thread's
/// matrix products split their work over, while the guard lives. 1 installs none.
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

/// The current thread's pool, if one is installed.
pub(crate) fn current() -> Option<Rc<ThreadPool>> {
    CURRENT.with(|current| current.borrow().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_index_runs_once_per_job() {
        let pool = ThreadPool::new(3);
        for _ in 0..1000 {
            let seen = Mutex::new(Vec::new());
            pool.run(&|i| seen.lock().unwrap().push(i));
            let mut seen = seen.into_inner().unwrap();
            seen.sort();
            assert_eq!(seen, vec![0, 1, 2]);
        }
    }

    #[test]
    fn wakes_parked_workers() {
        let pool = ThreadPool::new(2);
        let count = AtomicUsize::new(0);
        for _ in 0..3 {
            thread::sleep(SPIN * 3);
            pool.run(&|_| {
                count.fetch_add(1, Ordering::Relaxed);
            });
        }
        assert_eq!(count.load(Ordering::Relaxed), 6);
    }

    #[test]
    fn a_worker_panic_reaches_the_caller() {
        let pool = ThreadPool::new(2);
        let result = catch_unwind(AssertUnwindSafe(|| {
            pool.run(&|i| assert!(i == 0, "worker fails"));
        }));
        assert!(result.is_err());
        // The pool still works afterwards.
        let count = AtomicUsize::new(0);
        pool.run(&|_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.load(Ordering::Relaxed), 2);
    }

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
}
