//! Replicas through their phases (warming, serving, draining), the
//! controller's decisions through `decide()`, and the metrics it reads.

use super::*;

impl Sim<'_> {
    pub(super) fn add(&mut self, phase: Phase) -> usize {
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
    pub(super) fn set_phase(&mut self, k: usize, to: Phase) {
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

    pub(super) fn decide(
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
            samples: Default::default(),
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

    /// Whether the simulator can model `desired` replicas; if not, notes
    /// the first such moment, and the run stops there.
    pub(super) fn within_limit(&mut self, desired: u32) -> bool {
        if desired > super::MAX_SIMULATED {
            self.out.capped.get_or_insert((self.now, desired));
            return false;
        }
        true
    }

    pub(super) fn resize(&mut self, current: u32, desired: u32) {
        if !self.within_limit(desired) {
            return;
        }
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
    pub(super) fn remove_one(&mut self) {
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
    pub(super) fn read(&self, s: Signal) -> Option<f64> {
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
