//! Simulated time for the load model: a clock that only moves when every task
//! waits, a sleep on it, and a single-threaded executor that runs the tasks
//! (ingest calls, settle invocations) in the order of their wake-up times.
//! A minute of a deployment runs in the CPU time its code takes, not a minute.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use flight_core::{Clock, Millis};

/// Simulated time, in microseconds since the run's start, and the timers of
/// the sleeping futures.
pub struct Sim {
    /// Wall-clock time (ms since the epoch) the run starts at.
    epoch: Millis,
    now_us: AtomicI64,
    timers: Mutex<Timers>,
}

/// Pending sleeps: by time (to fire them) and by task (its next wake-up).
#[derive(Default)]
struct Timers {
    /// The task being polled.
    current: usize,
    seq: u64,
    by_time: BTreeMap<(i64, u64), (usize, Waker)>,
    by_task: HashMap<usize, BTreeSet<(i64, u64)>>,
}

impl Sim {
    pub fn new(epoch: Millis) -> Self {
        Self {
            epoch,
            now_us: AtomicI64::new(0),
            timers: Mutex::new(Timers::default()),
        }
    }

    /// Microseconds since the run began.
    pub fn now_us(&self) -> i64 {
        self.now_us.load(Ordering::SeqCst)
    }

    /// Waits `us` microseconds of simulated time.
    pub fn sleep(&self, us: i64) -> Sleep<'_> {
        Sleep {
            sim: self,
            until: self.now_us() + us.max(0),
            registered: false,
        }
    }

    fn timers(&self) -> std::sync::MutexGuard<'_, Timers> {
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn register(&self, until: i64, waker: &Waker) {
        let mut timers = self.timers();
        timers.seq += 1;
        let key = (until, timers.seq);
        let task = timers.current;
        timers.by_time.insert(key, (task, waker.clone()));
        timers.by_task.entry(task).or_default().insert(key);
    }

    /// Wakes every sleep due by now.
    fn fire(&self) {
        let now = self.now_us();
        let mut fired = Vec::new();
        {
            let mut timers = self.timers();
            while let Some(entry) = timers.by_time.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let (key, (task, waker)) = entry.remove_entry();
                if let Some(mine) = timers.by_task.get_mut(&task) {
                    mine.remove(&key);
                }
                fired.push(waker);
            }
        }
        fired.into_iter().for_each(Waker::wake);
    }

    /// The next wake-up of `task`, if it sleeps.
    fn next_wake(&self, task: usize) -> Option<i64> {
        let timers = self.timers();
        timers.by_task.get(&task)?.first().map(|(at, _)| *at)
    }

    fn forget(&self, task: usize) {
        let mut timers = self.timers();
        for key in timers.by_task.remove(&task).unwrap_or_default() {
            timers.by_time.remove(&key);
        }
    }
}

impl Clock for Sim {
    fn now(&self) -> Millis {
        self.epoch + self.now_us() / 1000
    }

    /// A sleep in simulated time.
    fn pause(&self, ms: Millis) -> flight_core::ports::BoxFuture<'_, bool> {
        Box::pin(async move {
            self.sleep(ms * 1000).await;
            true
        })
    }
}

/// A sleep in simulated time (see [`Sim::sleep`]).
pub struct Sleep<'a> {
    sim: &'a Sim,
    until: i64,
    registered: bool,
}

impl Future for Sleep<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.sim.now_us() >= self.until {
            Poll::Ready(())
        } else {
            if !self.registered {
                self.sim.register(self.until, cx.waker());
                self.registered = true;
            }
            Poll::Pending
        }
    }
}

/// A task: its future and the time (µs) past which it is dropped, as Lambda
/// stops an invocation at its timeout.
struct Task<'a, T> {
    future: Pin<Box<dyn Future<Output = T> + 'a>>,
    deadline: Option<i64>,
}

/// What became of a task.
pub enum Ended<T> {
    Finished(T),
    /// Dropped at its deadline.
    TimedOut,
}

/// Runs tasks in simulated time; each task may only wait on [`Sim::sleep`].
pub struct Executor<'a, T> {
    sim: &'a Sim,
    tasks: Vec<Option<Task<'a, T>>>,
    free: Vec<usize>,
    /// (wake-up time, sequence, task index), earliest first.
    queue: BinaryHeap<Reverse<(i64, u64, usize)>>,
    seq: u64,
}

impl<'a, T> Executor<'a, T> {
    pub fn new(sim: &'a Sim) -> Self {
        Self {
            sim,
            tasks: Vec::new(),
            free: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Starts `future` at simulated time `at` (µs), with an optional deadline.
    pub fn spawn(&mut self, at: i64, deadline: Option<i64>, future: impl Future<Output = T> + 'a) {
        let task = Some(Task {
            future: Box::pin(future),
            deadline,
        });
        let index = match self.free.pop() {
            Some(free) => {
                self.tasks[free] = task;
                free
            }
            None => {
                self.tasks.push(task);
                self.tasks.len() - 1
            }
        };
        self.push(at, index);
    }

    fn push(&mut self, at: i64, index: usize) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, index)));
    }

    fn end(&mut self, index: usize) {
        self.tasks[index] = None;
        self.free.push(index);
        self.sim.forget(index);
    }

    /// When the next task wakes, if any is waiting.
    pub fn next_wake(&self) -> Option<i64> {
        self.queue.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Moves the clock to the next wake-up and polls that task; returns the
    /// task's end if it ended.
    pub fn step(&mut self) -> Option<Ended<T>> {
        let Reverse((at, _, index)) = self.queue.pop()?;
        if self.tasks[index].as_ref()?.deadline.is_some_and(|d| at > d) {
            // Lambda stopped it at its deadline: it does nothing more.
            self.end(index);
            return Some(Ended::TimedOut);
        }
        self.advance_to(at);
        self.sim.fire();
        self.sim.timers().current = index;
        let task = self.tasks[index].as_mut()?;
        let mut cx = Context::from_waker(Waker::noop());
        match task.future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => {
                self.end(index);
                Some(Ended::Finished(out))
            }
            Poll::Pending => {
                let wake = self
                    .sim
                    .next_wake(index)
                    .expect("a simulated task waited on something other than Sim::sleep");
                self.push(wake, index);
                None
            }
        }
    }

    /// Moves the clock forward (never back) to `at` µs.
    pub fn advance_to(&self, at: i64) {
        self.sim.now_us.fetch_max(at, Ordering::SeqCst);
    }

    /// Whether no task is left.
    #[cfg(test)]
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }
}

/// A small deterministic generator (xorshift64*) and the draws the model needs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// A lognormal latency given by its median and 99th percentile.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Latency {
    /// One draw, in microseconds.
    pub fn draw(&self, rng: &mut Rng) -> i64 {
        // The 99th percentile of a standard normal.
        const Z99: f64 = 2.326_348;
        let sigma = (self.p99_ms / self.p50_ms).ln() / Z99;
        (self.p50_ms * (sigma * rng.normal()).exp() * 1000.0) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_draws_have_the_documented_median_and_tail() {
        let mut rng = Rng::new(7);
        let model = Latency {
            p50_ms: 4.0,
            p99_ms: 15.0,
        };
        let mut draws: Vec<i64> = (0..100_000).map(|_| model.draw(&mut rng)).collect();
        draws.sort_unstable();
        let p50 = draws[50_000] as f64 / 1000.0;
        let p99 = draws[99_000] as f64 / 1000.0;
        assert!((3.8..4.2).contains(&p50), "p50 {p50} ms");
        assert!((14.0..16.0).contains(&p99), "p99 {p99} ms");
    }

    #[test]
    fn tasks_wake_in_simulated_time_order_and_time_outs_drop_them() {
        let sim = Sim::new(0);
        let mut exec: Executor<'_, &str> = Executor::new(&sim);
        exec.spawn(0, None, async {
            sim.sleep(5_000).await;
            "slow"
        });
        exec.spawn(1_000, None, async {
            sim.sleep(1_000).await;
            "fast"
        });
        exec.spawn(0, Some(2_000), async {
            sim.sleep(10_000).await;
            "killed"
        });
        let mut order = Vec::new();
        while !exec.is_idle() {
            match exec.step() {
                Some(Ended::Finished(name)) => order.push((name, sim.now_us())),
                Some(Ended::TimedOut) => order.push(("timed out", sim.now_us())),
                None => {}
            }
        }
        assert_eq!(
            order,
            [("fast", 2_000), ("slow", 5_000), ("timed out", 5_000)]
        );
    }
}
