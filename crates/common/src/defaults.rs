//! Upstream defaults that a policy inherits when it does not say: the
//! compiler shows them (and checks with them), the targets leave them out
//! of the documents (the platform applies them), and the runtime and the
//! simulator run with them. Written here once so the three agree.

/// One rate policy: `value` replicas (or percent) per `period_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub percent: bool,
    pub value: u32,
    pub period_seconds: u64,
}

/// The Kubernetes HPA (pkg/apis/autoscaling/v2/defaults.go) and its
/// controller flags.
pub mod hpa {
    use super::Rate;

    /// `--horizontal-pod-autoscaler-tolerance`.
    pub const TOLERANCE: f64 = 0.1;
    /// `--horizontal-pod-autoscaler-sync-period`, seconds.
    pub const SYNC_PERIOD_SECONDS: u64 = 15;
    /// Scale-up: the larger of 100% and 4 pods per 15 s, no window.
    pub const SCALE_UP: [Rate; 2] = [
        Rate {
            percent: true,
            value: 100,
            period_seconds: 15,
        },
        Rate {
            percent: false,
            value: 4,
            period_seconds: 15,
        },
    ];
    pub const SCALE_UP_STABILIZATION_SECONDS: u64 = 0;
    /// Scale-down: 100% per 15 s after a 300 s window
    /// (`--horizontal-pod-autoscaler-downscale-stabilization`).
    pub const SCALE_DOWN: [Rate; 1] = [Rate {
        percent: true,
        value: 100,
        period_seconds: 15,
    }];
    pub const SCALE_DOWN_STABILIZATION_SECONDS: u64 = 300;
}

/// KEDA's ScaledObject (keda.sh/v1alpha1).
pub mod keda {
    /// `cooldownPeriod`, seconds.
    pub const COOLDOWN_SECONDS: u64 = 300;
    /// `maxReplicaCount` when absent.
    pub const MAX_REPLICAS: u32 = 100;

    /// The bounds of the HPA the KEDA operator generates for a ScaledObject
    /// (controllers/keda/hpa.go, getHPAMinReplicas/getHPAMaxReplicas): the
    /// HPA's minimum is `minReplicaCount` when above zero, else 1 (KEDA
    /// itself takes the target to and from zero); the maximum is
    /// `maxReplicaCount`, 100 when absent.
    pub fn hpa_bounds(min: Option<u32>, max: Option<u32>) -> (u32, u32) {
        (
            min.filter(|&m| m > 0).unwrap_or(1),
            max.unwrap_or(MAX_REPLICAS),
        )
    }
}
