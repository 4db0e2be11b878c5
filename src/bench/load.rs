//! The load generator: `concurrency` threads, each with its own keep-alive [`Client`], run one step
//! function until a step count or a duration is reached; every request's latency is kept (exact
//! percentiles, no histogram buckets) and every step that fails is counted.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::client::Client;

/// When a run ends.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// After this many steps in all.
    Steps(u64),
    /// After this long.
    For(Duration),
}

impl Stop {
    /// The unmeasured run that precedes a timed one: a fifth of it, at most 2 s, so that pool
    /// connections, statement caches and page caches are warm when measuring starts. A run of a
    /// number of steps (creates, adds) has none: every step it makes is part of the workload.
    pub fn warm_up(self) -> Option<Stop> {
        match self {
            Stop::Steps(_) => None,
            Stop::For(d) => Some(Stop::For((d / 5).min(Duration::from_secs(2)))),
        }
    }
}

/// Where requests go.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server's address.
    pub addr: SocketAddr,
    /// The `Host` header.
    pub host: String,
    /// The bearer token (empty: none).
    pub token: String,
}

/// Latency percentiles of a run, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// The slowest request.
    pub max_ms: f64,
}

impl Latency {
    /// The percentiles of `samples` (microseconds), which it sorts.
    pub fn of(samples: &mut [u32]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            f64::from(samples[i]) / 1000.0
        };
        Self {
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measurement {
    /// HTTP requests sent (or database operations, for the database ceilings).
    pub requests: u64,
    /// Steps completed (a step may send several requests: W1 sends a lookup and a create).
    pub steps: u64,
    /// Steps that failed (an unexpected status, a wrong answer, a broken connection).
    pub errors: u64,
    /// The first failure, to say what went wrong.
    pub first_error: Option<String>,
    /// Wall time of the run in seconds.
    pub seconds: f64,
    /// Requests per second.
    pub requests_per_s: f64,
    /// Steps per second.
    pub steps_per_s: f64,
    /// Latency of single requests (or operations).
    pub latency: Latency,
}

impl Measurement {
    /// The same run with each step counted as `operations` (a Bulk request's creates): steps
    /// and their rate are then operations; requests, errors and latencies stay per request.
    pub fn counting_operations(mut self, operations: u64) -> Self {
        self.steps = self.steps.saturating_mul(operations);
        self.steps_per_s *= operations as f64;
        self
    }

    /// The measurement of sequential requests with these latencies (microseconds), one step
    /// each, over the time they took together; `error` fails one more step.
    pub fn of_sequence(latencies_us: &[u32], error: Option<String>) -> Self {
        let collector = Collector::default();
        let errors = u64::from(error.is_some());
        let steps = (latencies_us.len() as u64).saturating_sub(errors);
        let busy: u64 = latencies_us.iter().map(|&l| u64::from(l)).sum();
        collector.add(latencies_us.to_vec(), steps, errors, error);
        collector.finish(Duration::from_micros(busy))
    }
}

/// Collects per-thread results into one [`Measurement`].
#[derive(Default)]
pub struct Collector {
    inner: Mutex<(Vec<u32>, u64, u64, Option<String>)>,
}

impl Collector {
    /// Adds one thread's latencies, steps and errors.
    pub fn add(&self, latencies: Vec<u32>, steps: u64, errors: u64, error: Option<String>) {
        let mut inner = self
            .inner
            .lock()
            .expect("no thread panics while holding it");
        inner.0.extend(latencies);
        inner.1 += steps;
        inner.2 += errors;
        if inner.3.is_none() {
            inner.3 = error;
        }
    }

    /// The measurement of a run that took `elapsed`.
    pub fn finish(self, elapsed: Duration) -> Measurement {
        let (mut samples, steps, errors, first_error) =
            self.inner.into_inner().expect("no thread panicked");
        let seconds = elapsed.as_secs_f64().max(1e-9);
        Measurement {
            requests: samples.len() as u64,
            steps,
            errors,
            first_error,
            seconds,
            requests_per_s: samples.len() as f64 / seconds,
            steps_per_s: steps as f64 / seconds,
            latency: Latency::of(&mut samples),
        }
    }
}

/// Hands out step numbers until the run's end.
pub struct Schedule {
    stop: Stop,
    next: AtomicU64,
    started: Instant,
}

impl Schedule {
    /// A schedule starting now.
    pub fn new(stop: Stop) -> Self {
        Self {
            stop,
            next: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// The next step's number, or `None` when the run is over.
    pub fn next(&self) -> Option<u64> {
        if let Stop::For(d) = self.stop
            && self.started.elapsed() >= d
        {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        match self.stop {
            Stop::Steps(n) if i >= n => None,
            _ => Some(i),
        }
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// One step of a workload: sends its requests with the client; `Err` says why the step failed.
pub type Step<'a> = dyn Fn(&mut Client, u64) -> Result<(), String> + Sync + 'a;

/// Runs `step` on `concurrency` keep-alive connections until `stop`.
pub fn drive(target: &Target, concurrency: usize, stop: Stop, step: &Step<'_>) -> Measurement {
    if let Some(warm_up) = stop.warm_up() {
        measure(target, concurrency, warm_up, step);
    }
    measure(target, concurrency, stop, step)
}

fn measure(target: &Target, concurrency: usize, stop: Stop, step: &Step<'_>) -> Measurement {
    let collector = Collector::default();
    let schedule = Schedule::new(stop);
    std::thread::scope(|s| {
        for _ in 0..concurrency.max(1) {
            s.spawn(|| {
                let mut client = Client::new(target.addr, &target.host, &target.token);
                let (mut steps, mut errors, mut first) = (0, 0, None);
                while let Some(i) = schedule.next() {
                    match step(&mut client, i) {
                        Ok(()) => steps += 1,
                        Err(e) => {
                            errors += 1;
                            first.get_or_insert(e);
                        }
                    }
                }
                collector.add(
                    std::mem::take(&mut client.latencies_us),
                    steps,
                    errors,
                    first,
                );
            });
        }
    });
    collector.finish(schedule.elapsed())
}

/// A well-mixed 64-bit hash of `x` (splitmix64), to pick "random" rows reproducibly.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Checks that an answer has the `expected` status, else says what came back.
pub fn expect(
    answer: std::io::Result<super::client::Answer>,
    expected: u16,
) -> Result<super::client::Answer, String> {
    let answer = answer.map_err(|e| format!("transport: {e}"))?;
    if answer.status != expected {
        let text = answer.text();
        return Err(format!(
            "status {} (expected {expected}): {}",
            answer.status,
            text.chars().take(300).collect::<String>()
        ));
    }
    Ok(answer)
}
