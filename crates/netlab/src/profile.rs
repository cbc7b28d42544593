//! Link profiles as pure data, and their translation into `tc` and `nft` arguments.
//!
//! Nothing here touches the system: the lab hands these arguments to the programs, and the unit
//! tests below check them without root.

use std::time::Duration;

/// The smallest token-bucket burst accepted: a full-size Ethernet frame must fit in the bucket, or
/// `tbf` drops every such frame and the link carries only small packets.
pub const MIN_BURST_BYTES: u32 = 1600;
/// The largest one-way delay accepted: the delay stage holds every packet for this long, and ten
/// seconds is already far beyond any network a call could survive.
pub const MAX_DELAY: Duration = Duration::from_secs(10);
/// The default token-bucket burst: the figure the lab's recipe was measured with (16 KiB, about
/// 0.4 s of a 300 kbit/s link).
pub const DEFAULT_BURST_BYTES: u32 = 16 * 1024;
/// The default time a packet may wait in the bottleneck's queue before `tbf` drops it: a deep
/// queue like a home router's, which is what makes a narrow link add seconds of delay.
pub const DEFAULT_QUEUE_LATENCY: Duration = Duration::from_millis(300);
/// Loss is applied in steps of 1/LOSS_SCALE (basis points): fine enough for 0.5 % and cheap
/// for nftables' random number generator.
pub const LOSS_SCALE: u32 = 10_000;

/// Which way across the lab's link packets travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the member's namespace to the host (the member's upload).
    Uplink,
    /// From the host to the member's namespace (the member's download).
    Downlink,
}

/// How one direction of the link behaves: bandwidth and queue, random loss, added delay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkProfile {
    /// Bottleneck rate in bits per second (`tbf rate`); `None` leaves the link unshaped.
    pub rate_bps: Option<u64>,
    /// Token-bucket size in bytes (`tbf burst`): how much may leave at line speed after a pause.
    pub burst_bytes: u32,
    /// Longest wait in the bottleneck's queue before a packet is dropped (`tbf latency`).
    pub queue_latency: Duration,
    /// Share of packets dropped at random, in percent (nftables `numgen random`).
    pub loss_percent: f64,
    /// One-way delay added to every packet in this direction (the lab's delay stage).
    pub delay: Duration,
}

/// Why a profile cannot be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProfileError {
    /// A rate of zero would stop the link, which `tbf` refuses.
    #[error("the rate must be above zero (use `None` for an unshaped link)")]
    ZeroRate,
    /// The bucket cannot hold a full-size frame.
    #[error("burst of {0} bytes is below the minimum of {MIN_BURST_BYTES}")]
    BurstTooSmall(u32),
    /// Loss outside 0–100 %, or not a number.
    #[error("loss of {0} % is not between 0 and 100")]
    Loss(f64),
    /// The delay stage would hold packets too long.
    #[error("delay of {0:?} is above the maximum of {MAX_DELAY:?}")]
    DelayTooLong(Duration),
    /// `tbf` needs a queue to hold at least one packet.
    #[error("queue latency must be above zero")]
    ZeroQueueLatency,
}

impl Default for LinkProfile {
    fn default() -> Self {
        Self::unshaped()
    }
}

impl LinkProfile {
    /// A link as fast as the veth pair: no rate limit, no loss, no delay.
    pub const fn unshaped() -> Self {
        Self {
            rate_bps: None,
            burst_bytes: DEFAULT_BURST_BYTES,
            queue_latency: DEFAULT_QUEUE_LATENCY,
            loss_percent: 0.0,
            delay: Duration::ZERO,
        }
    }

    /// A bottleneck of `kbps` kilobits per second with the default burst and queue.
    pub const fn kbps(kbps: u64) -> Self {
        Self {
            rate_bps: Some(kbps * 1000),
            ..Self::unshaped()
        }
    }

    /// The same profile with `percent` of packets dropped at random.
    pub const fn with_loss(self, percent: f64) -> Self {
        Self {
            loss_percent: percent,
            ..self
        }
    }

    /// The same profile with `delay` added to every packet.
    pub const fn with_delay(self, delay: Duration) -> Self {
        Self { delay, ..self }
    }

    /// The same profile with another burst and queue latency.
    pub const fn with_queue(self, burst_bytes: u32, queue_latency: Duration) -> Self {
        Self {
            burst_bytes,
            queue_latency,
            ..self
        }
    }

    /// Checks the profile against what the kernel and the delay stage accept.
    pub fn validate(&self) -> Result<(), ProfileError> {
        if self.rate_bps == Some(0) {
            return Err(ProfileError::ZeroRate);
        }
        if self.rate_bps.is_some() {
            if self.burst_bytes < MIN_BURST_BYTES {
                return Err(ProfileError::BurstTooSmall(self.burst_bytes));
            }
            if self.queue_latency.is_zero() {
                return Err(ProfileError::ZeroQueueLatency);
            }
        }
        if !(0.0..=100.0).contains(&self.loss_percent) {
            return Err(ProfileError::Loss(self.loss_percent));
        }
        if self.delay > MAX_DELAY {
            return Err(ProfileError::DelayTooLong(self.delay));
        }
        Ok(())
    }

    /// Loss in steps of 1/[`LOSS_SCALE`], as nftables compares it.
    pub fn loss_threshold(&self) -> u32 {
        // Validated to 0–100, so the product fits and the cast cannot wrap.
        (self.loss_percent * f64::from(LOSS_SCALE) / 100.0).round() as u32
    }
}

/// The `tc` arguments that give `dev` this profile's bottleneck: `qdisc replace … tbf` (which
/// creates it or changes it in place) or, unshaped, `qdisc del` of the root qdisc.
pub fn tc_args(dev: &str, profile: &LinkProfile) -> Vec<String> {
    let Some(rate) = profile.rate_bps else {
        return ["qdisc", "del", "dev", dev, "root"]
            .map(String::from)
            .to_vec();
    };
    let mut args: Vec<String> = ["qdisc", "replace", "dev", dev, "root", "tbf"]
        .map(String::from)
        .to_vec();
    args.extend([
        "rate".into(),
        format!("{rate}bit"),
        "burst".into(),
        profile.burst_bytes.to_string(),
        "latency".into(),
        format!("{}ms", profile.queue_latency.as_millis().max(1)),
    ]);
    args
}

/// The nftables script that creates an empty netdev `table` with an ingress `chain` on `dev`,
/// where [`loss_script`] puts the loss rule.
pub fn loss_table_script(table: &str, chain: &str, dev: &str) -> String {
    format!(
        "add table netdev {table}\n\
         add chain netdev {table} {chain} {{ type filter hook ingress device \"{dev}\" priority 0; policy accept; }}\n"
    )
}

/// The nftables script that replaces `chain`'s rules by this profile's random loss (no rule at
/// all for 0 %), as one atomic transaction.
pub fn loss_script(table: &str, chain: &str, profile: &LinkProfile) -> String {
    let mut script = format!("flush chain netdev {table} {chain}\n");
    let threshold = profile.loss_threshold();
    if threshold > 0 {
        script.push_str(&format!(
            "add rule netdev {table} {chain} numgen random mod {LOSS_SCALE} < {threshold} drop\n"
        ));
    }
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_becomes_a_tbf_with_its_burst_and_queue() {
        let p = LinkProfile::kbps(300);
        assert_eq!(
            tc_args("qlab3m", &p),
            [
                "qdisc",
                "replace",
                "dev",
                "qlab3m",
                "root",
                "tbf",
                "rate",
                "300000bit",
                "burst",
                "16384",
                "latency",
                "300ms"
            ]
        );
        let p = LinkProfile::kbps(2000).with_queue(3000, Duration::from_millis(50));
        let args = tc_args("d", &p);
        assert_eq!(
            &args[6..],
            ["rate", "2000000bit", "burst", "3000", "latency", "50ms"]
        );
    }

    #[test]
    fn an_unshaped_link_removes_the_qdisc() {
        assert_eq!(
            tc_args("qlab0h", &LinkProfile::unshaped()),
            ["qdisc", "del", "dev", "qlab0h", "root"]
        );
    }

    #[test]
    fn loss_is_a_numgen_rule_in_basis_points_and_none_at_zero() {
        let script = loss_script("qlab1", "up", &LinkProfile::unshaped().with_loss(2.5));
        assert_eq!(
            script,
            "flush chain netdev qlab1 up\n\
             add rule netdev qlab1 up numgen random mod 10000 < 250 drop\n"
        );
        let script = loss_script("qlab1", "up", &LinkProfile::unshaped());
        assert_eq!(script, "flush chain netdev qlab1 up\n");
        assert_eq!(
            LinkProfile::kbps(1).with_loss(100.0).loss_threshold(),
            10_000
        );
    }

    #[test]
    fn the_table_hooks_ingress_of_its_device() {
        let script = loss_table_script("qlab1", "up", "qlab1h");
        assert!(script.contains("add table netdev qlab1\n"));
        assert!(script.contains("hook ingress device \"qlab1h\""));
    }

    #[test]
    fn profiles_outside_what_the_kernel_takes_are_refused() {
        assert_eq!(LinkProfile::kbps(0).validate(), Err(ProfileError::ZeroRate));
        let small = LinkProfile::kbps(300).with_queue(MIN_BURST_BYTES - 1, DEFAULT_QUEUE_LATENCY);
        assert_eq!(
            small.validate(),
            Err(ProfileError::BurstTooSmall(MIN_BURST_BYTES - 1))
        );
        let fits = LinkProfile::kbps(300).with_queue(MIN_BURST_BYTES, DEFAULT_QUEUE_LATENCY);
        assert_eq!(fits.validate(), Ok(()));
        let no_queue = LinkProfile::kbps(300).with_queue(MIN_BURST_BYTES, Duration::ZERO);
        assert_eq!(no_queue.validate(), Err(ProfileError::ZeroQueueLatency));
        for bad in [-0.1, 100.1, f64::NAN] {
            assert!(matches!(
                LinkProfile::unshaped().with_loss(bad).validate(),
                Err(ProfileError::Loss(_))
            ));
        }
        assert_eq!(LinkProfile::unshaped().with_loss(100.0).validate(), Ok(()));
        let over = MAX_DELAY + Duration::from_millis(1);
        assert_eq!(
            LinkProfile::unshaped().with_delay(over).validate(),
            Err(ProfileError::DelayTooLong(over))
        );
        assert_eq!(
            LinkProfile::unshaped().with_delay(MAX_DELAY).validate(),
            Ok(())
        );
    }
}
