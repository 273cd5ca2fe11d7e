//! `StepThreads`: when the thread count was not given, choose for each training step
//! between the installed pool and the calling thread alone, by measuring both.
//!
//! On a shared machine the second core comes and goes: a step on two threads can take
//! twice as long as on one when the OS runs something else on the worker's core, and for
//! small networks the joins can cost more than the split saves. So the steps alternate
//! between the two in short windows (a probe), the faster one (the pool only when it is
//! clearly faster) runs the following steps, and the probe is repeated every quarter of a
//! second of wall time (or eight probes' time, when steps are long), since the machine's
//! load drifts. Results are the same for any thread count,
//! so the choice changes the speed only.

use std::cell::Cell;
use std::time::{Duration, Instant};

use super::installed::{current, install, Installed};

thread_local! {
    /// Whether the pool installed on this thread may be set aside (`choose_step_threads`).
    static ADAPTIVE: Cell<bool> = const { Cell::new(false) };
}

/// Steps in one probe window of each mode; a probe runs two windows of each, alternately.
const WINDOW: u32 = 8;

/// Steps on the pool before the first probe: the first steps warm caches and scratch
/// buffers, and would make either mode look slow.
const WARMUP: u32 = 16;

/// The chosen mode runs this long before the next probe, and at least `EXPLOIT_PROBES`
/// times the probe's own duration (so probing costs a few percent at most).
const EXPLOIT: Duration = Duration::from_millis(250);
const EXPLOIT_PROBES: u32 = 8;

/// The pool must take at most this share of the time of the thread alone to be chosen:
/// a tie goes to one thread, which leaves the other core to the rest of the machine.
const POOL_MARGIN: f64 = 0.9;

/// Let training loops on this thread run a step on the calling thread alone, setting the
/// installed pool aside, when that measures faster (see `StepThreads`), while the guard
/// lives.
pub fn choose_step_threads() -> StepChoice {
    StepChoice {
        previous: ADAPTIVE.with(|a| a.replace(true)),
    }
}

/// The guard of `choose_step_threads`: restores the previous setting when dropped.
#[must_use = "the choice ends when the guard is dropped"]
#[derive(Debug)]
pub struct StepChoice {
    previous: bool,
}

impl Drop for StepChoice {
    fn drop(&mut self) {
        ADAPTIVE.with(|a| a.set(self.previous));
    }
}

/// Which threads the next steps run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pool,
    Alone,
}

/// Chooses the threads of each training step (see the top of this file). Unless
/// `choose_step_threads` is in force on this thread, every step runs on the installed pool.
#[derive(Debug)]
pub struct StepThreads {
    adaptive: bool,
    /// Steps left before the first probe.
    warmup: u32,
    /// Step of the current probe (0 .. 4·WINDOW), or `None` while exploiting.
    probe_step: Option<u32>,
    /// Seconds spent in each mode during the current probe: pool, alone.
    probe_seconds: [f64; 2],
    mode: Mode,
    exploit_until: Instant,
}

impl Default for StepThreads {
    fn default() -> Self {
        StepThreads::new()
    }
}

impl StepThreads {
    /// A chooser for the pool installed on this thread.
    pub fn new() -> Self {
        let adaptive = ADAPTIVE.with(Cell::get) && current().is_some();
        StepThreads {
            adaptive,
            warmup: WARMUP,
            probe_step: None,
            probe_seconds: [0.0; 2],
            mode: Mode::Pool,
            exploit_until: Instant::now(),
        }
    }

    /// Run the next step under the returned guard: while it lives, the step's parallel
    /// work runs on the threads chosen for it.
    pub fn step(&mut self) -> Step<'_> {
        let mode = self.next_mode();
        let alone = (mode == Mode::Alone).then(|| install(1));
        Step {
            threads: self,
            mode,
            started: Instant::now(),
            _alone: alone,
        }
    }

    /// True when the last steps ran on the calling thread alone.
    pub fn running_alone(&self) -> bool {
        self.mode == Mode::Alone
    }

    fn next_mode(&mut self) -> Mode {
        if !self.adaptive {
            return Mode::Pool;
        }
        if self.warmup > 0 {
            self.warmup -= 1;
            return Mode::Pool;
        }
        match self.probe_step {
            // Windows: pool, alone, pool, alone.
            Some(step) => {
                if (step / WINDOW).is_multiple_of(2) {
                    Mode::Pool
                } else {
                    Mode::Alone
                }
            }
            None if Instant::now() >= self.exploit_until => {
                self.probe_step = Some(0);
                self.probe_seconds = [0.0; 2];
                Mode::Pool
            }
            None => self.mode,
        }
    }

    fn record(&mut self, mode: Mode, seconds: f64) {
        let Some(step) = self.probe_step else {
            return;
        };
        self.probe_seconds[(mode == Mode::Alone) as usize] += seconds;
        if step + 1 < 4 * WINDOW {
            self.probe_step = Some(step + 1);
            return;
        }
        let [pool, alone] = self.probe_seconds;
        self.mode = if pool < POOL_MARGIN * alone {
            Mode::Pool
        } else {
            Mode::Alone
        };
        self.probe_step = None;
        let probe = Duration::from_secs_f64(pool + alone);
        self.exploit_until = Instant::now() + EXPLOIT.max(probe * EXPLOIT_PROBES);
    }
}

/// One step's choice of threads; records the step's time when dropped.
#[derive(Debug)]
pub struct Step<'a> {
    threads: &'a mut StepThreads,
    mode: Mode,
    started: Instant,
    _alone: Option<Installed>,
}

impl Drop for Step<'_> {
    fn drop(&mut self) {
        let seconds = self.started.elapsed().as_secs_f64();
        self.threads.record(self.mode, seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::current_threads;

    #[test]
    fn a_fixed_pool_runs_every_step_on_the_pool() {
        let _pool = install(2);
        let mut threads = StepThreads::new();
        for _ in 0..100 {
            let _step = threads.step();
            assert_eq!(current_threads(), 2);
        }
    }

    /// The probe alternates windows of each mode; when the pool's steps are slower the
    /// steps after the probe run alone, with the pool back in place after each.
    #[test]
    fn a_slow_pool_is_set_aside_after_the_probe() {
        let (_pool, _choice) = (install(2), choose_step_threads());
        let mut threads = StepThreads::new();
        for _ in 0..WARMUP {
            let _step = threads.step();
            assert_eq!(current_threads(), 2, "warming up on the pool");
        }
        let mut seen = Vec::new();
        for _ in 0..(4 * WINDOW + 5) {
            let _step = threads.step();
            let on_pool = current_threads() == 2;
            seen.push(on_pool);
            if on_pool {
                std::thread::sleep(Duration::from_micros(300));
            }
        }
        let window = WINDOW as usize;
        assert!(seen[..window].iter().all(|&p| p));
        assert!(seen[window..2 * window].iter().all(|&p| !p));
        assert!(seen[2 * window..3 * window].iter().all(|&p| p));
        assert!(seen[4 * window..].iter().all(|&p| !p), "{seen:?}");
        assert!(threads.running_alone());
        assert_eq!(
            current_threads(),
            2,
            "the pool is installed again between steps"
        );
    }

    #[test]
    fn a_faster_pool_is_kept() {
        let (_pool, _choice) = (install(2), choose_step_threads());
        let mut threads = StepThreads::new();
        for _ in 0..(WARMUP + 4 * WINDOW + 5) {
            let _step = threads.step();
            if current_threads() == 1 {
                std::thread::sleep(Duration::from_micros(300));
            }
        }
        assert!(!threads.running_alone());
        let _step = threads.step();
        assert_eq!(current_threads(), 2);
    }
}
