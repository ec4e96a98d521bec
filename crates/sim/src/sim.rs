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
}

/// A decision of the controller, for the timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tick {
    pub t: f64,
    pub desired: u32,
    pub serving: u32,
    pub queued: u32,
}

/// Requests by arrival minute.
#[derive(Debug, Clone, PartialEq)]
pub struct Minute {
    pub arrived: u64,
    /// Served within the objective.
    pub within: u64,
    /// Timed out, cut off or never served.
    pub failed: u64,
    pub latency: Histogram,
}

impl Minute {
    fn new() -> Minute {
        Minute {
            arrived: 0,
            within: 0,
            failed: 0,
            latency: Histogram::new(0.05),
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
    pub ticks: Vec<Tick>,
    pub max_replicas: u32,
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
            ticks: Vec::new(),
            max_replicas: 0,
        }
    }

    fn minute(&mut self, arrival: f64) -> &mut Minute {
        let m = (arrival.max(0.0) / 60.0) as usize;
        if self.minutes.len() <= m {
            self.minutes.resize_with(m + 1, Minute::new);
        }
        &mut self.minutes[m]
    }

    /// All requests that arrived.
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

#[derive(Debug, Clone, Copy)]
struct Replica {
    phase: Phase,
    busy: u32,
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

/// Per-second gauges and cumulative counters, for the controller's view.
#[derive(Default)]
struct Samples {
    /// (busy slots, queued, serving slots) at the end of each second.
    gauges: Vec<(u32, u32, u32)>,
    /// Arrivals and tokens up to the end of each second.
    arrivals: Vec<u64>,
    tokens: Vec<u64>,
    /// (completion time, latency) of recent completions, oldest first,
    /// kept for as long as the controller's window can reach.
    latencies: VecDeque<(f64, f64)>,
    /// Queueing delay summed and counted per second of the start.
    waits: Vec<(f64, u32)>,
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
    samples: Samples,
    arrived: u64,
    tokens: u64,
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
        samples: Samples::default(),
        arrived: 0,
        tokens: 0,
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
            let r = arrivals.next().expect("peeked");
            s.arrive(r);
            if s.arrived & 0xFFFF == 0 {
                progress(s.now);
            }
        } else if t == event {
            let e = s.events.pop().expect("peeked");
            s.handle(e.kind);
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
    let left: Vec<f64> = s
        .queue
        .iter()
        .map(|r| r.t)
        .chain(arrivals.map(|r| r.t))
        .collect();
    for t in left {
        s.out.unserved += 1;
        s.out.minute(t).failed += 1;
    }
    s.out
}

impl Sim<'_> {
    fn add(&mut self, phase: Phase) -> usize {
        self.replicas.push(Replica { phase, busy: 0 });
        let k = self.replicas.len() - 1;
        self.active.push(k);
        self.counted += 1;
        if phase == Phase::Serving {
            self.serving += 1;
            self.free_slots += u64::from(self.setup.model.slots);
        }
        k
    }

    /// Moves replica `k` to `to`, keeping the counters.
    fn set_phase(&mut self, k: usize, to: Phase) {
        let from = self.replicas[k].phase;
        let slots = u64::from(self.setup.model.slots);
        let busy = u64::from(self.replicas[k].busy);
        if from == Phase::Serving {
            self.serving -= 1;
            self.free_slots -= slots - busy;
        }
        if to == Phase::Serving {
            self.serving += 1;
            self.free_slots += slots - busy;
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
    /// and sampling the gauges at each whole second passed.
    fn advance(&mut self, t: f64) {
        let paid_to = t.min(self.duration);
        if paid_to > self.now {
            self.out.replica_seconds += self.active.len() as f64 * (paid_to - self.now);
        }
        let upto = t.floor() as usize;
        if self.samples.gauges.len() <= upto {
            let gauge = (
                self.busy,
                self.queue.len() as u32,
                self.serving * self.setup.model.slots,
            );
            while self.samples.gauges.len() <= upto {
                self.samples.gauges.push(gauge);
                self.samples.arrivals.push(self.arrived);
                self.samples.tokens.push(self.tokens);
                self.samples.waits.push((0.0, 0));
            }
        }
        self.now = self.now.max(t);
    }

    fn arrive(&mut self, r: Request) {
        self.arrived += 1;
        self.tokens += u64::from(r.input_tokens) + u64::from(r.output_tokens);
        self.out.minute(r.t).arrived += 1;
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
                    self.out.cut_off += u64::from(cut);
                    // Arrivals are not kept per slot: the drain's end stands for them.
                    self.out.minute(self.now).failed += u64::from(cut);
                }
            }
        }
    }

    fn complete(&mut self, k: usize, served: Served) {
        let phase = self.replicas[k].phase;
        if phase == Phase::Gone {
            return; // cut off by its drain; already counted
        }
        self.replicas[k].busy -= 1;
        self.busy -= 1;
        if phase == Phase::Serving {
            self.free_slots += 1;
        }
        if phase == Phase::Draining && self.replicas[k].busy == 0 {
            self.set_phase(k, Phase::Gone);
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
        let m = o.minute(served.arrival);
        m.within += u64::from(within);
        m.latency.record(served.latency * 1e3);
        let keep = self.setup.rate_window + self.setup.scrape_delay;
        let l = &mut self.samples.latencies;
        l.push_back((self.now, served.latency));
        while l.front().is_some_and(|x| x.0 < self.now - keep) {
            l.pop_front();
        }
    }

    /// Starts queued requests on the least busy serving replicas.
    fn dispatch(&mut self) {
        let slots = self.setup.model.slots;
        while self.free_slots > 0 {
            let Some(req) = self.queue.pop_front() else {
                break;
            };
            let waited = self.now - req.t;
            if self.setup.timeout.is_some_and(|limit| waited > limit) {
                self.out.timed_out += 1;
                self.out.minute(req.t).failed += 1;
                continue;
            }
            let replicas = &self.replicas;
            let k = *self
                .active
                .iter()
                .filter(|&&i| replicas[i].phase == Phase::Serving && replicas[i].busy < slots)
                .min_by_key(|&&i| replicas[i].busy)
                .expect("free slots are on serving replicas");
            self.replicas[k].busy += 1;
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
            self.out.wait_sum += waited;
            if let Some(w) = self.samples.waits.last_mut() {
                w.0 += waited;
                w.1 += 1;
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
        let d = engine.decide(pool, state, &obs, self.setup.start_epoch + self.now);
        if d.desired != current {
            self.out.scale_events += 1;
            self.resize(current, d.desired);
        }
        self.out.ticks.push(Tick {
            t: self.now,
            desired: d.desired,
            serving: self.serving,
            queued: self.queue.len() as u32,
        });
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
        if g.gauges.is_empty() {
            return Some(0.0);
        }
        let at = (view.floor() as usize).min(g.gauges.len() - 1);
        let window = self.setup.rate_window.min(view.max(1.0));
        let from = ((view - window).max(0.0).floor() as usize).min(at);
        let gauge = g.gauges[at];
        let rate = |c: &[u64]| (c[at] - c[from]) as f64 / window;
        Some(match s {
            Signal::Arrivals => rate(&g.arrivals),
            Signal::Tokens => rate(&g.tokens),
            Signal::Running => f64::from(gauge.0),
            Signal::Queued => f64::from(gauge.1),
            Signal::Load => f64::from(gauge.0 + gauge.1),
            Signal::Utilization => {
                let span = &g.gauges[from..=at];
                span.iter()
                    .map(|&(busy, queued, slots)| utilization(busy, queued, slots))
                    .sum::<f64>()
                    / span.len() as f64
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
                    return (gauge.0 + gauge.1 == 0).then_some(0.0);
                }
                percentile(&mut v, 0.95) * 1e3
            }
            Signal::Wait => {
                let (sum, n) = g.waits[from..=at]
                    .iter()
                    .fold((0.0, 0u32), |a, w| (a.0 + w.0, a.1 + w.1));
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
