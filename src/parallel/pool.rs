//! `ThreadPool`: long-lived worker threads that, with the caller, run the tasks of a job.
//!
//! A training step at W1-wide runs seven products of 0.02 to 0.3 ms each, so a thread
//! spawned per product costs more than it saves. The workers here stay alive: between jobs
//! they spin for a while (a step's products follow each other within microseconds) and
//! then park. A job is a number of tasks and a closure called once per task index; the
//! calling thread and the workers claim tasks one at a time until none is left, so a
//! worker that the OS has not scheduled (the machine is shared) delays nothing: the caller
//! then runs every task itself. `run` returns when all tasks have finished.
//!
//! The workers copy the caller's float control register (MXCSR: the flush-to-zero flags set
//! by `FlushDenormals`, see `float_control.rs`) before each task, so a task computes the
//! same bits on any thread.

use std::cell::{Cell, UnsafeCell};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use super::float_control::{read_mxcsr, set_mxcsr};

/// How long an idle worker spins before it parks.
const SPIN: Duration = Duration::from_micros(300);

/// A wait this long for a worker's task means the OS took the worker's core (the machine is
/// busy with other work): the next jobs then run on the calling thread alone, which is
/// faster than two threads sharing one core, before the workers are tried again. The
/// backoff starts at `BACKOFF_MIN` jobs (a W1-wide step runs eleven) and doubles while the
/// stalls keep coming, up to `BACKOFF_MAX`. Results do not depend on it.
const STALL: Duration = Duration::from_micros(500);
const BACKOFF_MIN: u32 = 32;
const BACKOFF_MAX: u32 = 4096;

/// The most tasks in one job (the task counter has 16 bits).
pub const MAX_TASKS: usize = u16::MAX as usize;

type Job = *const (dyn Fn(usize) + Sync);

/// The claim word: generation (32 bits) | number of tasks (16) | next task (16).
fn word(generation: u64, n_tasks: usize, next: usize) -> u64 {
    (generation << 32) | ((n_tasks as u64) << 16) | next as u64
}

fn unword(word: u64) -> (u64, usize, usize) {
    (
        word >> 32,
        ((word >> 16) & 0xffff) as usize,
        (word & 0xffff) as usize,
    )
}

struct Shared {
    /// Which job is current, how many tasks it has and which is the next to claim. A
    /// thread claims a task by moving `next` on with a compare-and-swap.
    claim: AtomicU64,
    /// The current job; written by the caller only while every task of the previous job
    /// has finished, before the new claim word is published.
    job: UnsafeCell<Option<Job>>,
    /// The caller's MXCSR for the current job.
    mxcsr: AtomicU32,
    /// Tasks of the current job that have finished.
    done: AtomicUsize,
    panicked: AtomicBool,
    shutdown: AtomicBool,
}

// SAFETY: `job` is written by the thread that owns the pool only when all tasks of the
// previous job are done and before it publishes the next claim word (release); a worker
// reads it only after claiming a task of the current job (acquire), and that job cannot
// finish, so `job` cannot be rewritten, before the claimed task is done. Every other field
// is atomic.
unsafe impl Sync for Shared {}
// SAFETY: as above; the raw job pointer is only dereferenced under that protocol.
unsafe impl Send for Shared {}

impl Shared {
    /// Claim the next task of the current job, if one is left.
    fn claim(&self) -> Option<usize> {
        let mut current = self.claim.load(Ordering::Acquire);
        loop {
            let (_, n_tasks, next) = unword(current);
            if next >= n_tasks {
                return None;
            }
            match self.claim.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(next),
                Err(actual) => current = actual,
            }
        }
    }

    /// Withdraw the tasks nobody has claimed (after a panic), counting them done.
    fn withdraw(&self) {
        let mut current = self.claim.load(Ordering::Acquire);
        loop {
            let (generation, n_tasks, next) = unword(current);
            if next >= n_tasks {
                return;
            }
            match self.claim.compare_exchange_weak(
                current,
                word(generation, n_tasks, n_tasks),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    self.done.fetch_add(n_tasks - next, Ordering::Release);
                    return;
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Whether a task is waiting to be claimed.
    fn claimable(&self) -> bool {
        let (_, n_tasks, next) = unword(self.claim.load(Ordering::SeqCst));
        next < n_tasks
    }

    /// Run claimed `task` of the current job and count it done.
    fn run_task(&self, task: usize) {
        // SAFETY: see `unsafe impl Sync`: while this task is not done the job is current
        // and the caller keeps the closure alive.
        let job = unsafe { (*self.job.get()).expect("a job is set before its tasks") };
        // SAFETY: as above.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { (*job)(task) }));
        if result.is_err() {
            self.panicked.store(true, Ordering::Relaxed);
            self.withdraw();
        }
        self.done.fetch_add(1, Ordering::Release);
    }
}

struct Worker {
    handle: Option<JoinHandle<()>>,
    thread: Thread,
    sleeping: Arc<AtomicBool>,
}

/// `n_threads - 1` worker threads plus the calling thread.
///
/// The crate's matrix products and optimizer step use the pool that [`install`] makes
/// current; a pool made here directly serves whoever calls [`ThreadPool::run`] (the
/// benches compare it with other ways of running the same tasks).
///
/// [`install`]: crate::parallel::install
pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: Vec<Worker>,
    generation: Cell<u64>,
    /// Jobs left to run on the calling thread alone after a stall (see `STALL`).
    backoff: Cell<u32>,
    /// The length of the last backoff, and the jobs run since it was set.
    backoff_len: Cell<u32>,
    jobs_since_stall: Cell<u32>,
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
            claim: AtomicU64::new(0),
            job: UnsafeCell::new(None),
            mxcsr: AtomicU32::new(0),
            done: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
        });
        let workers = (1..n_threads.max(1))
            .map(|index| {
                let sleeping = Arc::new(AtomicBool::new(false));
                let (shared, flag) = (Arc::clone(&shared), Arc::clone(&sleeping));
                let handle = thread::Builder::new()
                    .name(format!("csvnn-worker-{index}"))
                    .spawn(move || worker_loop(&shared, &flag))
                    .expect("the OS can start a thread");
                Worker {
                    thread: handle.thread().clone(),
                    handle: Some(handle),
                    sleeping,
                }
            })
            .collect();
        ThreadPool {
            shared,
            workers,
            generation: Cell::new(0),
            backoff: Cell::new(0),
            backoff_len: Cell::new(0),
            jobs_since_stall: Cell::new(0),
        }
    }

    /// Threads that take part in a job, the caller included.
    pub fn n_threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// A worker kept the caller waiting longer than `STALL`: back off for twice as many jobs
    /// as last time if that was recent (the machine stays busy), for the fewest otherwise.
    fn stalled(&self) {
        let last = self.backoff_len.get();
        let len = if self.jobs_since_stall.get() <= last.saturating_mul(4) {
            (last * 2).clamp(BACKOFF_MIN, BACKOFF_MAX)
        } else {
            BACKOFF_MIN
        };
        self.backoff_len.set(len);
        self.backoff.set(len);
        self.jobs_since_stall.set(0);
    }

    /// Call `f(task)` once for each `task` in `0..n_tasks`, spread over the pool's threads
    /// (the caller among them), and return when all calls have finished. Which thread runs
    /// which task is not fixed. Panics if a call panicked.
    pub fn run(&self, n_tasks: usize, f: &(dyn Fn(usize) + Sync)) {
        assert!(n_tasks <= MAX_TASKS, "at most {MAX_TASKS} tasks per job");
        let since = self.jobs_since_stall.get();
        self.jobs_since_stall.set(since.saturating_add(1));
        if self.workers.is_empty() || n_tasks <= 1 || self.backoff.get() > 0 {
            self.backoff.set(self.backoff.get().saturating_sub(1));
            (0..n_tasks).for_each(f);
            return;
        }
        let shared = &*self.shared;
        // SAFETY: the lifetime is erased only for the duration of this call: it returns (or
        // unwinds, after catching a task's panic) only once every task has finished, and no
        // worker touches the job after its last task.
        let job: Job = unsafe {
            std::mem::transmute::<&(dyn Fn(usize) + Sync), &'static (dyn Fn(usize) + Sync)>(f)
        };
        // SAFETY: every task of the previous job is done (the previous `run` waited), so no
        // worker reads `job` until the claim word below is published.
        unsafe { *shared.job.get() = Some(job) };
        shared.mxcsr.store(read_mxcsr(), Ordering::Relaxed);
        shared.done.store(0, Ordering::Relaxed);
        shared.panicked.store(false, Ordering::Relaxed);
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        shared
            .claim
            .store(word(generation, n_tasks, 0), Ordering::SeqCst);
        for worker in &self.workers {
            if worker.sleeping.load(Ordering::SeqCst) {
                worker.thread.unpark();
            }
        }
        let mut caught = None;
        while let Some(task) = shared.claim() {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| f(task))) {
                caught.get_or_insert(payload);
                shared.withdraw();
            }
            shared.done.fetch_add(1, Ordering::Release);
        }
        // Every task is claimed; wait for those the workers are running.
        if shared.done.load(Ordering::Acquire) < n_tasks {
            let waiting_since = Instant::now();
            let mut spins = 0u32;
            while shared.done.load(Ordering::Acquire) < n_tasks {
                spins = spins.saturating_add(1);
                if spins < 1 << 12 {
                    std::hint::spin_loop();
                } else {
                    thread::yield_now();
                }
            }
            if waiting_since.elapsed() > STALL {
                self.stalled();
            }
        }
        if let Some(payload) = caught {
            resume_unwind(payload);
        }
        if shared.panicked.load(Ordering::Relaxed) {
            panic!("a worker thread panicked");
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

fn worker_loop(shared: &Shared, sleeping: &AtomicBool) {
    loop {
        while let Some(task) = shared.claim() {
            set_mxcsr(shared.mxcsr.load(Ordering::Relaxed));
            shared.run_task(task);
        }
        // Nothing to claim: spin, then park, until a task appears.
        let idle_since = Instant::now();
        let mut spins = 0u32;
        while !shared.claimable() {
            if shared.shutdown.load(Ordering::Acquire) {
                return;
            }
            spins = spins.wrapping_add(1);
            std::hint::spin_loop();
            if spins.is_multiple_of(64) && idle_since.elapsed() > SPIN {
                sleeping.store(true, Ordering::SeqCst);
                if !shared.claimable() && !shared.shutdown.load(Ordering::SeqCst) {
                    thread::park();
                }
                sleeping.store(false, Ordering::SeqCst);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_task_runs_once_per_job() {
        let pool = ThreadPool::new(3);
        for _ in 0..1000 {
            for n_tasks in [0, 1, 2, 7] {
                let seen = Mutex::new(Vec::new());
                pool.run(n_tasks, &|i| seen.lock().unwrap().push(i));
                let mut seen = seen.into_inner().unwrap();
                seen.sort();
                assert_eq!(seen, (0..n_tasks).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn wakes_parked_workers() {
        let pool = ThreadPool::new(2);
        let count = AtomicUsize::new(0);
        for _ in 0..3 {
            thread::sleep(SPIN * 3);
            pool.run(2, &|_| {
                count.fetch_add(1, Ordering::Relaxed);
            });
        }
        assert_eq!(count.load(Ordering::Relaxed), 6);
    }

    #[test]
    fn a_worker_panic_reaches_the_caller() {
        let pool = ThreadPool::new(2);
        let result = catch_unwind(AssertUnwindSafe(|| {
            pool.run(64, &|i| assert!(i != 40, "task 40 fails"));
        }));
        assert!(result.is_err());
        // The pool still works afterwards.
        let count = AtomicUsize::new(0);
        pool.run(5, &|_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.load(Ordering::Relaxed), 5);
    }

    /// A worker that keeps the caller waiting (as when the OS gives its core to another
    /// process) makes the next jobs run on the caller alone.
    #[test]
    fn backs_off_after_a_stalled_worker() {
        let pool = ThreadPool::new(2);
        let caller = thread::current().id();
        let on_worker = AtomicUsize::new(0);
        // Stall the worker that takes a task, the caller's task waiting until it has, until
        // the caller has waited for it (usually the first job; on a busy machine the caller
        // may itself be descheduled until the worker is done, and then it has not waited).
        let mut jobs = 0;
        while pool.backoff.get() == 0 {
            jobs += 1;
            assert!(jobs <= 100, "no stall seen in {jobs} jobs");
            let started = AtomicBool::new(false);
            pool.run(2, &|_| {
                if thread::current().id() != caller {
                    started.store(true, Ordering::Release);
                    thread::sleep(STALL * 4);
                } else {
                    let since = Instant::now();
                    while !started.load(Ordering::Acquire) && since.elapsed() < STALL * 40 {
                        thread::yield_now();
                    }
                }
            });
        }
        for _ in 0..BACKOFF_MIN - 1 {
            pool.run(8, &|_| {
                if thread::current().id() != caller {
                    on_worker.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        assert_eq!(on_worker.load(Ordering::Relaxed), 0);
    }
}
