//! The discrete-event simulation of one pool: arrivals, a FIFO queue, replicas
//! with slots that warm up, serve and drain, and a controller that reads the
//! pool's metrics with a delay and decides on its sync period through the
//! engine's own `decide()`.

use crate::histogram::Histogram;
use crate::serving::ServingModel;
use crate::signals::Signal;
use crate::trace::Request;
use scalepol_runtime::{Engine, Observation, State};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

mod outcome;
mod queue;
mod replicas;

pub use outcome::{Minute, Outcome};

/// Without `slo { timeout }`, a client gives up after an hour in the queue.
pub const MAX_WAIT: f64 = 3600.0;

/// What decides the replica count.
pub enum Scaler<'a> {
    /// The engine, on its pool, reading `signals` every `interval` seconds.
    Engine {
        engine: &'a Engine,
        pool: usize,
        signals: &'a [(String, Signal)],
        interval: f64,
    },
    /// A fixed count.
    Fixed(u32),
}

/// The most replicas a run models: each one is simulated individually
/// (its queue, warm-up and drain), so a policy that asks for more (Kubernetes
/// accepts up to 2^31 - 1) is refused rather than exhaust memory.
pub const MAX_SIMULATED: u32 = 1_000_000;

/// The pool and the world around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub model: ServingModel,
    /// From the decision to serving, seconds.
    pub warmup: f64,
    /// How long a removed replica may finish its requests, seconds.
    pub drain: f64,
    /// Clients give up after waiting this long in the queue, seconds.
    pub timeout: Option<f64>,
    pub initial: u32,
    /// Metrics reach the controller this late, seconds.
    pub scrape_delay: f64,
    /// Rates and averages are over this window, seconds (PromQL `[1m]`).
    pub rate_window: f64,
    /// The wall-clock time of the trace's start, Unix seconds.
    pub start_epoch: f64,
    /// The latency objective, seconds: requests within it are counted.
    pub objective: Option<f64>,
    /// The objective's percentile (0.95 for p95), for the timeline.
    pub percentile: f64,
    /// Requests arriving before this many seconds, and the cost before it,
    /// are left out of the statistics (a warm-up period).
    pub settle: f64,
    /// Keep every decision (for `scalepol diff`).
    pub record: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Warming,
    Serving,
    Draining,
    Gone,
}

#[derive(Debug, Clone)]
struct Replica {
    phase: Phase,
    busy: u32,
    /// Arrival times of the requests it is serving, so that a drain's
    /// cut-offs are counted in their arrival minute.
    inflight: Vec<f64>,
}

/// A request in service: what its completion records.
#[derive(Debug, Clone, Copy)]
struct Served {
    arrival: f64,
    latency: f64,
    end_to_end: f64,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Complete { replica: usize, served: Served },
    Ready { replica: usize },
    DrainEnd { replica: usize },
}

#[derive(Debug, Clone, Copy)]
struct Event {
    time: f64,
    seq: u64,
    kind: Kind,
}

impl PartialEq for Event {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Event {
    /// Earliest first in a max-heap; ties in scheduling order.
    fn cmp(&self, o: &Self) -> Ordering {
        o.time.total_cmp(&self.time).then(o.seq.cmp(&self.seq))
    }
}

/// One second of the pool as the controller's metrics see it.
#[derive(Debug, Clone, Copy, Default)]
struct Second {
    busy: u32,
    queued: u32,
    slots: u32,
    /// Arrivals and tokens up to the end of the second.
    arrivals: u64,
    tokens: u64,
    /// Queueing delay summed and counted over requests started in it.
    wait_sum: f64,
    waits: u32,
}

/// The last seconds of gauges and counters, as far back as the
/// controller's delayed window reaches: memory does not grow with the
/// trace's duration.
#[derive(Default)]
struct Samples {
    /// The second that `seconds[0]` stands for.
    base: usize,
    seconds: VecDeque<Second>,
    /// How many seconds to keep.
    keep: usize,
    /// (completion time, latency) of recent completions, oldest first,
    /// kept for as long as the controller's window can reach.
    latencies: VecDeque<(f64, f64)>,
}

impl Samples {
    /// Seconds recorded so far (the next second to record).
    fn end(&self) -> usize {
        self.base + self.seconds.len()
    }

    fn get(&self, second: usize) -> &Second {
        let i = second.saturating_sub(self.base).min(self.seconds.len() - 1);
        &self.seconds[i]
    }

    fn push(&mut self, s: Second) {
        self.seconds.push_back(s);
        while self.seconds.len() > self.keep {
            self.seconds.pop_front();
            self.base += 1;
        }
    }
}

struct Sim<'a> {
    setup: &'a Setup,
    duration: f64,
    now: f64,
    replicas: Vec<Replica>,
    /// Indices of replicas that are not gone.
    active: Vec<usize>,
    queue: VecDeque<Request>,
    events: BinaryHeap<Event>,
    seq: u64,
    free_slots: u64,
    busy: u32,
    /// Warming and serving (what the controller counts).
    counted: u32,
    serving: u32,
    warming: u32,
    draining: u32,
    samples: Samples,
    arrived: u64,
    tokens: u64,
    /// Latencies completed in the current minute, for the timeline.
    this_minute: Histogram,
    /// Minutes whose end has been recorded.
    closed_minutes: usize,
    out: Outcome,
}

/// Runs the arrivals (in time order) through the pool; the trace lasts
/// `duration` seconds.
pub fn run(
    arrivals: impl IntoIterator<Item = Request>,
    duration: f64,
    setup: &Setup,
    scaler: &Scaler,
) -> Outcome {
    run_with_progress(arrivals, duration, setup, scaler, &mut |_| {})
}

/// [`run`], telling `progress` the simulated time now and then.
pub fn run_with_progress(
    arrivals: impl IntoIterator<Item = Request>,
    duration: f64,
    setup: &Setup,
    scaler: &Scaler,
    progress: &mut dyn FnMut(f64),
) -> Outcome {
    let keep = (setup.rate_window + setup.scrape_delay).ceil() as usize + 3;
    let mut s = Sim {
        setup,
        duration,
        now: 0.0,
        replicas: Vec::new(),
        active: Vec::new(),
        queue: VecDeque::new(),
        events: BinaryHeap::new(),
        seq: 0,
        free_slots: 0,
        busy: 0,
        counted: 0,
        serving: 0,
        warming: 0,
        draining: 0,
        samples: Samples {
            keep,
            ..Samples::default()
        },
        arrived: 0,
        tokens: 0,
        this_minute: Histogram::new(0.01),
        closed_minutes: 0,
        out: Outcome::new(),
    };
    let asked = match scaler {
        Scaler::Fixed(n) => *n,
        Scaler::Engine { .. } => setup.initial,
    };
    let initial = if s.within_limit(asked) { asked } else { 0 };
    for _ in 0..initial {
        s.add(Phase::Serving);
    }
    s.out.max_replicas = initial;
    let mut state = State::new_controller(initial, setup.start_epoch);
    let interval = match scaler {
        Scaler::Engine { interval, .. } => interval.max(1.0),
        Scaler::Fixed(_) => f64::INFINITY,
    };
    // Past the trace, the pool finishes its queue for at most an hour.
    let horizon = duration + 3600.0;
    let mut arrivals = arrivals.into_iter().peekable();
    let mut next_tick = interval;
    loop {
        // A count the simulator cannot model: the run's figures would not
        // stand, and the caller reports it.
        if s.out.capped.is_some() {
            break;
        }
        let arrival = arrivals.peek().map_or(f64::INFINITY, |r| r.t);
        let event = s.events.peek().map_or(f64::INFINITY, |e| e.time);
        if arrival.is_infinite() && s.queue.is_empty() && s.busy == 0 && s.now >= duration {
            break;
        }
        let t = arrival.min(event).min(next_tick);
        if t > horizon || !t.is_finite() {
            break;
        }
        s.advance(t);
        if t == arrival {
            if let Some(r) = arrivals.next() {
                s.arrive(r);
            }
            if s.arrived & 0xFFFF == 0 {
                progress(s.now);
            }
        } else if t == event {
            if let Some(e) = s.events.pop() {
                s.handle(e.kind);
            }
        } else {
            next_tick += interval;
            if let Scaler::Engine {
                engine,
                pool,
                signals,
                ..
            } = scaler
            {
                s.decide(engine, *pool, signals, &mut state);
            }
        }
        s.dispatch();
    }
    s.advance(duration.max(s.now));
    // The last, partial minute too.
    s.close_minutes((duration / 60.0).ceil().max(1.0) * 60.0);
    let left: Vec<f64> = s
        .queue
        .iter()
        .map(|r| r.t)
        .chain(arrivals.map(|r| r.t))
        .collect();
    for t in left {
        if s.counts(t) {
            s.out.unserved += 1;
        }
    }
    // What is still in service past the horizon never completes.
    let stuck: Vec<f64> = s
        .active
        .iter()
        .flat_map(|&k| s.replicas[k].inflight.iter().copied())
        .collect();
    for t in stuck {
        if s.counts(t) {
            s.out.unserved += 1;
        }
    }
    s.out
}

impl Sim<'_> {
    /// Whether a request that arrived at `t` counts (after the settle period).
    fn counts(&self, t: f64) -> bool {
        t >= self.setup.settle
    }

    fn schedule(&mut self, time: f64, kind: Kind) {
        self.seq += 1;
        self.events.push(Event {
            time,
            seq: self.seq,
            kind,
        });
    }

    /// Moves the clock, paying for live replicas up to the end of the trace
    /// (after the settle period), sampling the gauges at each whole second
    /// passed and closing the minutes passed.
    fn advance(&mut self, t: f64) {
        let paid_from = self.now.max(self.setup.settle);
        let paid_to = t.min(self.duration);
        if paid_to > paid_from {
            self.out.replica_seconds += self.active.len() as f64 * (paid_to - paid_from);
        }
        let upto = t.floor() as usize;
        if self.samples.end() <= upto {
            let second = Second {
                busy: self.busy,
                queued: self.queue.len() as u32,
                slots: self.serving * self.setup.model.slots,
                arrivals: self.arrived,
                tokens: self.tokens,
                wait_sum: 0.0,
                waits: 0,
            };
            // Over a long quiet gap only the last seconds can be read.
            let from = self
                .samples
                .end()
                .max((upto + 1).saturating_sub(self.samples.keep));
            if from > self.samples.end() {
                self.samples.seconds.clear();
                self.samples.base = from;
            }
            while self.samples.end() <= upto {
                self.samples.push(second);
            }
        }
        if t >= (self.closed_minutes + 1) as f64 * 60.0 {
            self.close_minutes(t);
        }
        self.now = self.now.max(t);
    }

    /// Records the pool at the end of every minute that ended by `t`.
    fn close_minutes(&mut self, t: f64) {
        let last = (t / 60.0).floor() as usize;
        let limit = (self.duration / 60.0).ceil() as usize;
        while self.closed_minutes < last.min(limit) {
            let m = self.closed_minutes;
            let latency = if self.this_minute.is_empty() {
                f32::NAN
            } else {
                self.this_minute.quantile(self.setup.percentile) as f32
            };
            self.this_minute.clear();
            let (ready, warming, draining) = (self.serving, self.warming, self.draining);
            let minute = self.out.minute(m as f64 * 60.0);
            minute.ready = ready;
            minute.warming = warming;
            minute.draining = draining;
            minute.latency_ms = latency;
            self.closed_minutes += 1;
        }
    }

    fn arrive(&mut self, r: Request) {
        self.arrived += 1;
        self.tokens += u64::from(r.input_tokens) + u64::from(r.output_tokens);
        let counts = self.counts(r.t);
        let m = self.out.minute(r.t);
        m.demand += 1;
        m.arrived += u64::from(counts);
        self.queue.push_back(r);
    }

    fn handle(&mut self, kind: Kind) {
        match kind {
            Kind::Complete { replica, served } => self.complete(replica, served),
            Kind::Ready { replica } => {
                if self.replicas[replica].phase == Phase::Warming {
                    self.set_phase(replica, Phase::Serving);
                }
            }
            Kind::DrainEnd { replica } => {
                if self.replicas[replica].phase == Phase::Draining {
                    let cut = self.replicas[replica].busy;
                    self.busy -= cut;
                    self.replicas[replica].busy = 0;
                    self.set_phase(replica, Phase::Gone);
                    let inflight = std::mem::take(&mut self.replicas[replica].inflight);
                    for t in inflight {
                        if self.counts(t) {
                            self.out.cut_off += 1;
                        }
                    }
                }
            }
        }
    }
}

fn utilization(busy: u32, queued: u32, slots: u32) -> f64 {
    if slots == 0 {
        if busy + queued > 0 {
            100.0
        } else {
            0.0
        }
    } else {
        f64::from(busy) * 100.0 / f64::from(slots)
    }
}

/// The nearest-rank percentile (`q` in 0..=1) of `v`, sorted in place.
pub fn percentile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable_by(f64::total_cmp);
    let rank = (q * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}
