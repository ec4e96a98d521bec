//! Requests through the pool: completion, patience and dispatch to the
//! least busy serving replica.

use super::*;

impl Sim<'_> {
    pub(super) fn complete(&mut self, k: usize, served: Served) {
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
    pub(super) fn patience(&self) -> f64 {
        self.setup.timeout.unwrap_or(MAX_WAIT)
    }

    /// Starts queued requests on the least busy serving replicas.
    pub(super) fn dispatch(&mut self) {
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
}
