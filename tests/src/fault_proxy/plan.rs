//! What a soak asks of the proxy: the seed, the rate and kinds of faults, the delays and the
//! outages of whole services.

use std::time::Duration;

/// Which faults, how often, from which seed.
#[derive(Clone, Debug, Default)]
pub struct FaultPlan {
    pub seed: u64,
    /// Probability that any one request gets a fault (0.0..=1.0); the kind is then drawn uniformly
    /// from `kinds`.
    pub rate: f64,
    pub kinds: Vec<FaultKind>,
    /// Upper bound of injected latency (before or after forwarding) and of a slow read's total time.
    pub max_delay: Duration,
    /// Windows, measured from when faults were switched on, in which every request to a service is
    /// dropped (connection closed without an answer, never forwarded).
    pub down: Vec<DownWindow>,
}

/// An outage: requests whose credential scope names `service` are dropped in `from..until`.
#[derive(Clone, Debug)]
pub struct DownWindow {
    pub service: String,
    pub from: Duration,
    pub until: Duration,
}

/// A fault drawn for one request. The resets close the connection (FIN, not RST: std cannot set
/// `SO_LINGER`); either way the SDK sees a connection that ended without an answer and retries.
/// The status faults answer in the service's own error shape without forwarding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    LatencyBefore,
    LatencyAfter,
    ResetBefore,
    ResetAfter,
    Status500,
    Status503,
    Throttling,
    /// Forward, then write the answer in small pieces spread over the drawn delay.
    SlowRead,
}

use FaultKind::*;

impl FaultKind {
    /// Every kind a plan can draw.
    pub const ALL: [FaultKind; 8] = [
        LatencyBefore,
        LatencyAfter,
        ResetBefore,
        ResetAfter,
        Status500,
        Status503,
        Throttling,
        SlowRead,
    ];

    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            LatencyBefore => "latency_before",
            LatencyAfter => "latency_after",
            ResetBefore => "reset_before",
            ResetAfter => "reset_after",
            Status500 => "status_500",
            Status503 => "status_503",
            Throttling => "throttling",
            SlowRead => "slow_read",
        }
    }
}
