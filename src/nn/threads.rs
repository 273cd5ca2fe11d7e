//! `ThreadPool`: worker threads started once per training run that the matrix products and
//! the optimizer step split their work over, and `install`, which makes a pool the current
//! thread's for as long as the returned guard lives.
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
//! by `FlushDenormals`) before each task, so a task computes the same bits on any thread.

use std::cell::{RefCell, UnsafeCell};
use std::marker::PhantomData;
use std::ops::Range;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

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
pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: Vec<Worker>,
    generation: std::cell::Cell<u64>,
    /// Jobs left to run on the calling thread alone after a stall (see `STALL`).
    backoff: std::cell::Cell<u32>,
    /// The length of the last backoff, and the jobs run since it was set.
    backoff_len: std::cell::Cell<u32>,
    jobs_since_stall: std::cell::Cell<u32>,
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
            generation: std::cell::Cell::new(0),
            backoff: std::cell::Cell::new(0),
            backoff_len: std::cell::Cell::new(0),
            jobs_since_stall: std::cell::Cell::new(0),
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

/// Call `f` on consecutive ranges that cover `0..len`, one per thread of the current
/// thread's pool (fewer when a range would be shorter than `min_part`), or on all of it on
/// this thread when no pool is installed.
///
/// Range i usually runs on thread i (the caller claims first), step after step: a thread
/// then finds its range's memory in its own cache.
pub(crate) fn for_each_part(len: usize, min_part: usize, f: &(dyn Fn(Range<usize>) + Sync)) {
    let n_parts = match current() {
        Some(pool) => pool.n_threads().min(len / min_part.max(1)).max(1),
        None => 1,
    };
    let range = |part: usize| len * part / n_parts..len * (part + 1) / n_parts;
    match current() {
        Some(pool) if n_parts > 1 => pool.run(n_parts, &|part| f(range(part))),
        _ => f(0..len),
    }
}

/// A slice that tasks running at the same time write in disjoint ranges.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<'a> {
    ptr: *mut f32,
    len: usize,
    _slice: PhantomData<&'a mut [f32]>,
}

// SAFETY: `SharedMut` hands out only the ranges its users ask for; `range`'s contract makes
// them disjoint across threads, so sharing the pointer is as safe as `split_at_mut`.
unsafe impl Send for SharedMut<'_> {}
// SAFETY: as above.
unsafe impl Sync for SharedMut<'_> {}

impl<'a> SharedMut<'a> {
    pub(crate) fn new(slice: &'a mut [f32]) -> Self {
        SharedMut {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
            _slice: PhantomData,
        }
    }

    /// The elements in `range`.
    ///
    /// # Safety
    /// No other live reference (from another `range` call included) overlaps `range`.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn range(&self, range: Range<usize>) -> &'a mut [f32] {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "range in bounds"
        );
        // SAFETY: in bounds (checked) and not aliased (the caller's contract).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len()) }
    }
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
        // Until a worker takes a task (usually the first job), stall it.
        while on_worker.load(Ordering::Relaxed) == 0 {
            pool.run(2, &|_| {
                if thread::current().id() != caller {
                    on_worker.fetch_add(1, Ordering::Relaxed);
                    thread::sleep(STALL * 4);
                }
            });
        }
        on_worker.store(0, Ordering::Relaxed);
        for _ in 0..BACKOFF_MIN - 1 {
            pool.run(8, &|_| {
                if thread::current().id() != caller {
                    on_worker.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        assert_eq!(on_worker.load(Ordering::Relaxed), 0);
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
