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

/// One minute of a run: requests by arrival minute (two counters: SLO
/// attainment per minute needs no histogram), and the pool as it was at the
/// minute's end. A few dozen bytes a minute, whatever the load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Minute {
    /// Requests that arrived in the minute, settle period included.
    pub demand: u64,
    /// Requests that arrived in the minute (after the settle period).
    pub arrived: u64,
    /// Of those, served within the objective.
    pub within: u64,
    /// Replicas serving, warming and draining at the minute's end.
    pub ready: u32,
    pub warming: u32,
    pub draining: u32,
    /// The objective's percentile of the latency of requests completed in
    /// the minute, ms (NaN when none completed).
    pub latency_ms: f32,
}

impl Minute {
    fn new() -> Minute {
        Minute {
            demand: 0,
            arrived: 0,
            within: 0,
            ready: 0,
            warming: 0,
            draining: 0,
            latency_ms: f32::NAN,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub served: u64,
    /// Requests that waited past the timeout.
    pub timed_out: u64,
    /// Requests cut off by a drain that ran out.
    pub cut_off: u64,
    /// Requests still queued when the simulation ended.
    pub unserved: u64,
    /// Served within the objective.
    pub within: u64,
    /// The latency the objective measures (time to first token for LLM
    /// pools, end to end otherwise), ms.
    pub latency: Histogram,
    pub end_to_end: Histogram,
    /// Time spent queueing, summed over served requests, seconds.
    pub wait_sum: f64,
    pub minutes: Vec<Minute>,
    /// Replica-seconds paid (warming, serving and draining) over the trace.
    pub replica_seconds: f64,
    /// Decisions that changed the replica count.
    pub scale_events: u32,
    pub max_replicas: u32,
    /// (time, desired) of every decision, when the setup records them.
    pub decisions: Vec<(f64, u32)>,
}

impl Outcome {
    fn new() -> Outcome {
        Outcome {
            served: 0,
            timed_out: 0,
            cut_off: 0,
            unserved: 0,
            within: 0,
            latency: Histogram::new(0.001),
            end_to_end: Histogram::new(0.001),
            wait_sum: 0.0,
            minutes: Vec::new(),
            replica_seconds: 0.0,
            scale_events: 0,
            max_replicas: 0,
            decisions: Vec::new(),
        }
    }

    fn minute(&mut self, t: f64) -> &mut Minute {
        let m = (t.max(0.0) / 60.0) as usize;
        if self.minutes.len() <= m {
            self.minutes.resize_with(m + 1, Minute::new);
        }
        &mut self.minutes[m]
    }

    /// All requests that arrived (after the settle period).
    pub fn requests(&self) -> u64 {
        self.served + self.timed_out + self.cut_off + self.unserved
    }
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
    let initial = match scaler {
        Scaler::Fixed(n) => *n,
        Scaler::Engine { .. } => setup.initial,
    };
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

    fn add(&mut self, phase: Phase) -> usize {
        self.replicas.push(Replica {
            phase,
            busy: 0,
            inflight: Vec::new(),
        });
        let k = self.replicas.len() - 1;
        self.active.push(k);
        self.counted += 1;
        match phase {
            Phase::Serving => {
                self.serving += 1;
                self.free_slots += u64::from(self.setup.model.slots);
            }
            Phase::Warming => self.warming += 1,
            Phase::Draining | Phase::Gone => {}
        }
        k
    }

    /// Moves replica `k` to `to`, keeping the counters.
    fn set_phase(&mut self, k: usize, to: Phase) {
        let from = self.replicas[k].phase;
        let slots = u64::from(self.setup.model.slots);
        let busy = u64::from(self.replicas[k].busy);
        match from {
            Phase::Serving => {
                self.serving -= 1;
                self.free_slots -= slots - busy;
            }
            Phase::Warming => self.warming -= 1,
            Phase::Draining => self.draining -= 1,
            Phase::Gone => {}
        }
        match to {
            Phase::Serving => {
                self.serving += 1;
                self.free_slots += slots - busy;
            }
            Phase::Warming => self.warming += 1,
            Phase::Draining => self.draining += 1,
            Phase::Gone => {}
        }
        let counted = |p| matches!(p, Phase::Warming | Phase::Serving);
        match (counted(from), counted(to)) {
            (true, false) => self.counted -= 1,
            (false, true) => self.counted += 1,
            _ => {}
        }
        if to == Phase::Gone {
            self.active.retain(|&i| i != k);
        }
        self.replicas[k].phase = to;
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

    fn complete(&mut self, k: usize, served: Served) {
        let phase = self.replicas[k].phase;
        if phase == Phase::Gone {
            return; // cut off by its drain; already counted
        }
        let r = &mut self.replicas[k];
        r.busy -= 1;
        if let Some(i) = r.inflight.iter().position(|&t| t == served.arrival) {
            r.inflight.swap_remove(i);
        }
        self.busy -= 1;
        if phase == Phase::Serving {
            self.free_slots += 1;
        }
        if phase == Phase::Draining && self.replicas[k].busy == 0 {
            self.set_phase(k, Phase::Gone);
        }
        let keep = self.setup.rate_window + self.setup.scrape_delay;
        let l = &mut self.samples.latencies;
        l.push_back((self.now, served.latency));
        while l.front().is_some_and(|x| x.0 < self.now - keep) {
            l.pop_front();
        }
        self.this_minute.record(served.latency * 1e3);
        if !self.counts(served.arrival) {
            return;
        }
        let o = &mut self.out;
        o.served += 1;
        o.latency.record(served.latency * 1e3);
        o.end_to_end.record(served.end_to_end * 1e3);
        let within = self
            .setup
            .objective
            .is_some_and(|limit| served.latency <= limit);
        o.within += u64::from(within);
        o.minute(served.arrival).within += u64::from(within);
    }

    /// How long a request may wait: the objective's timeout, else an hour
    /// (clients give up; it also bounds the queue's memory).
    fn patience(&self) -> f64 {
        self.setup.timeout.unwrap_or(MAX_WAIT)
    }

    /// Starts queued requests on the least busy serving replicas.
    fn dispatch(&mut self) {
        let slots = self.setup.model.slots;
        // Requests that waited too long leave even while no slot is free.
        while let Some(front) = self.queue.front() {
            if self.now - front.t <= self.patience() {
                break;
            }
            let t = front.t;
            self.queue.pop_front();
            if self.counts(t) {
                self.out.timed_out += 1;
            }
        }
        while self.free_slots > 0 {
            let Some(req) = self.queue.pop_front() else {
                break;
            };
            let waited = self.now - req.t;
            if waited > self.patience() {
                if self.counts(req.t) {
                    self.out.timed_out += 1;
                }
                continue;
            }
            let replicas = &self.replicas;
            let Some(&k) = self
                .active
                .iter()
                .filter(|&&i| replicas[i].phase == Phase::Serving && replicas[i].busy < slots)
                .min_by_key(|&&i| replicas[i].busy)
            else {
                // Free slots are on serving replicas: not reached.
                self.queue.push_front(req);
                break;
            };
            self.replicas[k].busy += 1;
            self.replicas[k].inflight.push(req.t);
            self.busy += 1;
            self.free_slots -= 1;
            let (hold, first) = self.setup.model.times(&req);
            let served = Served {
                arrival: req.t,
                latency: waited
                    + if self.setup.model.first_token() {
                        first
                    } else {
                        hold
                    },
                end_to_end: waited + hold,
            };
            if self.counts(req.t) {
                self.out.wait_sum += waited;
            }
            if let Some(w) = self.samples.seconds.back_mut() {
                w.wait_sum += waited;
                w.waits += 1;
            }
            self.schedule(self.now + hold, Kind::Complete { replica: k, served });
        }
    }

    fn decide(
        &mut self,
        engine: &Engine,
        pool: usize,
        signals: &[(String, Signal)],
        state: &mut State,
    ) {
        let current = self.counted;
        let metrics = signals
            .iter()
            .filter_map(|(name, s)| self.read(*s).map(|v| (name.clone(), v)))
            .collect();
        let obs = Observation {
            replicas: current,
            metrics,
            pods: Vec::new(),
        };
        // The pool was resolved against this engine when the run was set up.
        let Ok(d) = engine.decide(pool, state, &obs, self.setup.start_epoch + self.now) else {
            return;
        };
        if self.setup.record {
            self.out.decisions.push((self.now, d.desired));
        }
        if d.desired != current {
            self.out.scale_events += 1;
            self.resize(current, d.desired);
        }
    }

    fn resize(&mut self, current: u32, desired: u32) {
        if desired > current {
            for _ in current..desired {
                if self.setup.warmup > 0.0 {
                    let k = self.add(Phase::Warming);
                    self.schedule(self.now + self.setup.warmup, Kind::Ready { replica: k });
                } else {
                    self.add(Phase::Serving);
                }
            }
            self.out.max_replicas = self.out.max_replicas.max(desired);
            return;
        }
        for _ in desired..current {
            self.remove_one();
        }
    }

    /// Removes a warming replica if any (newest first), else drains the
    /// least busy serving one.
    fn remove_one(&mut self) {
        let replicas = &self.replicas;
        if let Some(&k) = self
            .active
            .iter()
            .rev()
            .find(|&&i| replicas[i].phase == Phase::Warming)
        {
            self.set_phase(k, Phase::Gone);
            return;
        }
        let Some(&k) = self
            .active
            .iter()
            .filter(|&&i| replicas[i].phase == Phase::Serving)
            .min_by_key(|&&i| replicas[i].busy)
        else {
            return;
        };
        if self.replicas[k].busy == 0 {
            self.set_phase(k, Phase::Gone);
        } else {
            self.set_phase(k, Phase::Draining);
            let end = self.now + self.setup.drain;
            self.schedule(end, Kind::DrainEnd { replica: k });
        }
    }

    /// A signal as the controller sees it: `scrape_delay` late, rates and
    /// averages over `rate_window`. `None` when it has no value (no
    /// completions to take a latency from while requests are pending).
    fn read(&self, s: Signal) -> Option<f64> {
        let view = (self.now - self.setup.scrape_delay).max(0.0);
        let g = &self.samples;
        if g.seconds.is_empty() {
            return Some(0.0);
        }
        let at = (view.floor() as usize).min(g.end() - 1);
        let window = self.setup.rate_window.min(view.max(1.0));
        let from = ((view - window).max(0.0).floor() as usize)
            .min(at)
            .max(g.base);
        let gauge = *g.get(at);
        let rate = |c: fn(&Second) -> u64| (c(g.get(at)) - c(g.get(from))) as f64 / window;
        let span = || (from..=at).map(|i| g.get(i));
        Some(match s {
            Signal::Arrivals => rate(|x| x.arrivals),
            Signal::Tokens => rate(|x| x.tokens),
            Signal::Running => f64::from(gauge.busy),
            Signal::Queued => f64::from(gauge.queued),
            Signal::Load => f64::from(gauge.busy + gauge.queued),
            Signal::Utilization => {
                span()
                    .map(|x| utilization(x.busy, x.queued, x.slots))
                    .sum::<f64>()
                    / (at - from + 1) as f64
            }
            Signal::LatencyP95 => {
                let mut v: Vec<f64> = g
                    .latencies
                    .iter()
                    .filter(|x| x.0 > view - window && x.0 <= view)
                    .map(|x| x.1)
                    .collect();
                if v.is_empty() {
                    // No traffic reads as zero; pending work without a
                    // completion has no value (Prometheus returns NaN).
                    return (gauge.busy + gauge.queued == 0).then_some(0.0);
                }
                percentile(&mut v, 0.95) * 1e3
            }
            Signal::Wait => {
                let (sum, n) = span().fold((0.0, 0u32), |a, w| (a.0 + w.wait_sum, a.1 + w.waits));
                if n == 0 {
                    0.0
                } else {
                    sum / f64::from(n) * 1e3
                }
            }
        })
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
