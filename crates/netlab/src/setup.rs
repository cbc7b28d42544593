//! Building a lab's link in the kernel, and applying profiles to it.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::delay::Delays;
use crate::profile::{self, Direction, LinkProfile};
use crate::sys::{self, ip, run, run_with_input};
use crate::{LabError, Names};

/// Routing table for packets the delay device hands back on their way up.
const TABLE_UP: &str = "100";
/// Routing table for packets arriving from the host, sent into the delay device.
const TABLE_DOWN: &str = "110";
/// Where the `local` table's rule moves to, so that the two rules above come before it.
const LOCAL_RULE_PREF: &str = "200";
/// The nft chain of uplink loss (host side, ingress of the host's veth end).
pub(crate) const CHAIN_UP: &str = "up";
/// The nft chain of downlink loss (namespace side, ingress of the member's veth end).
pub(crate) const CHAIN_DOWN: &str = "down";

/// One lab's link as the kernel sees it, and what is applied to it now.
pub(crate) struct Link {
    pub(crate) names: Names,
    pub(crate) delays: Arc<Delays>,
    current: Mutex<[LinkProfile; 2]>,
}

impl Link {
    pub(crate) fn new(names: Names, delays: Arc<Delays>) -> Self {
        Self {
            names,
            delays,
            current: Mutex::new([LinkProfile::unshaped(); 2]),
        }
    }

    /// The profile last applied to `direction`.
    pub(crate) fn current(&self, direction: Direction) -> LinkProfile {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current[index(direction)]
    }

    /// Gives `direction` this profile: `tbf` on the sending end's veth, loss on the receiving
    /// end's ingress, delay in the delay stage.
    pub(crate) fn apply(&self, direction: Direction, p: &LinkProfile) -> Result<(), LabError> {
        p.validate()?;
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let before = current[index(direction)];
        let n = &self.names;
        let (tc_dev, mut tc): (&str, Command) = match direction {
            Direction::Uplink => (&n.member_dev, netns_cmd(&n.netns, "tc")),
            Direction::Downlink => (&n.host_dev, Command::new("tc")),
        };
        if p.rate_bps.is_some() || before.rate_bps.is_some() {
            run(tc.args(profile::tc_args(tc_dev, p)))?;
        }
        let mut nft = match direction {
            Direction::Uplink => Command::new("nft"),
            Direction::Downlink => netns_cmd(&n.netns, "nft"),
        };
        let chain = match direction {
            Direction::Uplink => CHAIN_UP,
            Direction::Downlink => CHAIN_DOWN,
        };
        let script = profile::loss_script(&n.table, chain, p);
        run_with_input(nft.args(["-f", "-"]), Some(&script))?;
        self.delays.set(direction, p.delay);
        current[index(direction)] = *p;
        Ok(())
    }
}

fn index(direction: Direction) -> usize {
    match direction {
        Direction::Uplink => 0,
        Direction::Downlink => 1,
    }
}

/// `program` run inside the namespace.
pub(crate) fn netns_cmd(netns: &str, program: &str) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", netns, program]);
    c
}

/// The namespace, the veth pair between it and the host, and the addresses of both ends.
pub(crate) fn create_link(n: &Names, host: Ipv4Addr, member: Ipv4Addr) -> Result<(), LabError> {
    let ns = n.netns.as_str();
    run(&mut ip(["netns", "add", ns]))?;
    run(&mut ip([
        "link",
        "add",
        &n.host_dev,
        "type",
        "veth",
        "peer",
        "name",
        &n.member_dev,
        "netns",
        ns,
    ]))?;
    run(&mut ip([
        "addr",
        "add",
        &format!("{host}/30"),
        "dev",
        &n.host_dev,
    ]))?;
    run(&mut ip(["link", "set", &n.host_dev, "up"]))?;
    run(&mut ip(["-n", ns, "link", "set", "lo", "up"]))?;
    run(&mut ip([
        "-n",
        ns,
        "addr",
        "add",
        &format!("{member}/30"),
        "dev",
        &n.member_dev,
    ]))?;
    run(&mut ip(["-n", ns, "link", "set", &n.member_dev, "up"]))?;
    Ok(())
}

/// Routes every packet between the two ends through the delay device once, in the namespace:
/// what the member sends to the host goes into the device and, handed back, out of the veth;
/// what arrives on the veth for the member goes into the device and, handed back, is delivered.
pub(crate) fn route_through_delay(
    n: &Names,
    host: Ipv4Addr,
    member: Ipv4Addr,
) -> Result<(), LabError> {
    let ns = n.netns.as_str();
    let (veth, tun) = (n.member_dev.as_str(), n.delay_dev.as_str());
    // Forwarding between veth and device; packets handed back carry the member's own source
    // address (accept_local) and arrive where the reverse path does not point (rp_filter).
    // Early demux would attach a packet from the host to the member's socket before routing,
    // and the kernel drops a packet with a socket attached that is to be forwarded.
    let mut sysctl = netns_cmd(ns, "sysctl");
    sysctl.arg("-qw").args([
        "net.ipv4.ip_early_demux=0".to_string(),
        "net.ipv4.conf.all.forwarding=1".to_string(),
        "net.ipv4.conf.all.rp_filter=0".to_string(),
        format!("net.ipv4.conf.{veth}.rp_filter=0"),
        format!("net.ipv4.conf.{tun}.rp_filter=0"),
        format!("net.ipv4.conf.{tun}.accept_local=1"),
        format!("net.ipv6.conf.{tun}.disable_ipv6=1"),
    ]);
    run(&mut sysctl)?;
    run(&mut ip(["-n", ns, "link", "set", tun, "up"]))?;
    let (host32, member32) = (format!("{host}/32"), format!("{member}/32"));
    let member_s = member.to_string();
    run(&mut ip([
        "-n", ns, "route", "add", &host32, "dev", tun, "src", &member_s,
    ]))?;
    run(&mut ip([
        "-n", ns, "rule", "add", "pref", TABLE_UP, "iif", tun, "lookup", TABLE_UP,
    ]))?;
    run(&mut ip([
        "-n", ns, "route", "add", &host32, "dev", veth, "table", TABLE_UP,
    ]))?;
    run(&mut ip([
        "-n", ns, "rule", "add", "pref", TABLE_DOWN, "iif", veth, "lookup", TABLE_DOWN,
    ]))?;
    run(&mut ip([
        "-n", ns, "route", "add", &member32, "dev", tun, "table", TABLE_DOWN,
    ]))?;
    run(&mut ip([
        "-n",
        ns,
        "rule",
        "add",
        "pref",
        LOCAL_RULE_PREF,
        "lookup",
        "local",
    ]))?;
    run(&mut ip(["-n", ns, "rule", "del", "pref", "0"]))?;
    // The rule above routes the member's own address into the device, so the kernel no longer
    // answers ARP for it on the veth: tell the host the member's hardware address instead.
    let mut cat = netns_cmd(ns, "cat");
    let mac = sys::output(cat.arg(format!("/sys/class/net/{veth}/address")))?;
    run(&mut ip([
        "neigh",
        "replace",
        &member_s,
        "lladdr",
        mac.trim(),
        "dev",
        &n.host_dev,
        "nud",
        "permanent",
    ]))?;
    Ok(())
}

/// The nft tables whose chains hold the loss rules: uplink loss where packets arrive at the
/// host, downlink loss where they arrive in the namespace, both after the bottleneck's queue.
pub(crate) fn create_loss_tables(n: &Names) -> Result<(), LabError> {
    let up = profile::loss_table_script(&n.table, CHAIN_UP, &n.host_dev);
    run_with_input(Command::new("nft").args(["-f", "-"]), Some(&up))?;
    let down = profile::loss_table_script(&n.table, CHAIN_DOWN, &n.member_dev);
    run_with_input(netns_cmd(&n.netns, "nft").args(["-f", "-"]), Some(&down))?;
    Ok(())
}
