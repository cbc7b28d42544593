//! Host mode: the room server and RTMP relay of `quartet-server` running inside the app, on
//! loopback for calls on this machine, or on every interface with this machine's LAN address
//! in members' URLs when others should join.

use crate::error::AppError;
use quartet_relay::RelayConfig;
use quartet_server::{Host, RtmpSetup, ServerConfig};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use tokio::sync::Mutex;
#[cfg(test)]
use ts_rs::TS;

/// The room server's port when it is free (the one `quartet server` uses), so the address
/// people type stays the same from one session to the next.
pub const PREFERRED_HTTP_PORT: u16 = 8080;
/// The relay's port when it is free (RTMP's usual port).
pub const PREFERRED_RTMP_PORT: u16 = 1935;

/// Where a hosted call can be reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "camelCase")]
pub struct HostInfo {
    /// The room server as this app reaches it.
    pub url: String,
    /// Whether others on the LAN can join.
    pub lan: bool,
    /// The address others should enter (the LAN address in LAN mode, else `url`).
    pub share_url: String,
    /// The RTMP base members' streams use.
    pub rtmp_base: String,
    /// The preferred ports that were taken, and the ones used instead.
    pub moved_ports: Vec<PortMove>,
}

/// A preferred port another program held, and the port used instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "camelCase")]
pub struct PortMove {
    /// `http` (the room server, the port people type) or `rtmp` (the relay).
    #[cfg_attr(test, ts(type = "\"http\" | \"rtmp\""))]
    pub service: &'static str,
    /// The preferred port, taken.
    pub wanted: u16,
    /// The port used.
    pub used: u16,
}

/// The ports hosting wants when they are free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreferredPorts {
    /// The room server's.
    pub http: u16,
    /// The relay's.
    pub rtmp: u16,
}

impl Default for PreferredPorts {
    fn default() -> Self {
        PreferredPorts {
            http: PREFERRED_HTTP_PORT,
            rtmp: PREFERRED_RTMP_PORT,
        }
    }
}

/// Which preferred ports were not the ones used (`(service, wanted, used)` each), so the page
/// can say which port was taken and which one hosts instead.
pub fn port_moves(ports: [(&'static str, u16, u16); 2]) -> Vec<PortMove> {
    ports
        .into_iter()
        .filter(|(_, wanted, used)| wanted != used)
        .map(|(service, wanted, used)| PortMove {
            service,
            wanted,
            used,
        })
        .collect()
}

/// Starts, restarts and stops the hosted servers; one at a time.
#[derive(Default)]
pub struct HostService {
    running: Mutex<Option<(Host, HostInfo)>>,
    preferred: PreferredPorts,
}

impl HostService {
    /// A service that prefers `preferred` over the usual ports.
    pub fn with_ports(preferred: PreferredPorts) -> Self {
        HostService {
            running: Mutex::default(),
            preferred,
        }
    }

    /// Hosts (or keeps hosting) in the asked mode and says where.
    pub async fn start(&self, lan: bool) -> Result<HostInfo, AppError> {
        let mut running = self.running.lock().await;
        if let Some((_, info)) = running.as_ref()
            && info.lan == lan
        {
            return Ok(info.clone());
        }
        if let Some((host, _)) = running.take() {
            stop_host(host).await;
        }
        let (host, info) = if lan {
            start_lan(self.preferred).await?
        } else {
            start_local(self.preferred).await?
        };
        for m in &info.moved_ports {
            log::info!(
                "hosting: {} port {} is taken, using {}",
                m.service,
                m.wanted,
                m.used
            );
        }
        log::info!(
            "hosting: room server {} (share {})",
            info.url,
            info.share_url
        );
        *running = Some((host, info.clone()));
        Ok(info)
    }

    /// Where the hosted servers are, if they run.
    pub async fn status(&self) -> Option<HostInfo> {
        self.running.lock().await.as_ref().map(|(_, i)| i.clone())
    }

    /// Stops hosting (members are told their rooms closed).
    pub async fn stop(&self) {
        if let Some((host, _)) = self.running.lock().await.take() {
            stop_host(host).await;
        }
    }
}

async fn stop_host(host: Host) {
    if let Err(e) = host.stop().await {
        log::warn!("hosted servers stopped badly: {e}");
    }
}

/// The ports a started host really got, as [`port_moves`] reads them.
fn moves(host: &Host, preferred: PreferredPorts) -> Vec<PortMove> {
    let rtmp = host.rtmp_addr().map_or(preferred.rtmp, |a| a.port());
    port_moves([
        ("http", preferred.http, host.http_addr().port()),
        ("rtmp", preferred.rtmp, rtmp),
    ])
}

async fn start_local(preferred: PreferredPorts) -> Result<(Host, HostInfo), AppError> {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let http = SocketAddr::new(ip, choose_port(ip, preferred.http));
    let rtmp = SocketAddr::new(ip, choose_port(ip, preferred.rtmp));
    let host = Host::start(
        ServerConfig::default(),
        http,
        RtmpSetup::Embedded {
            listen: rtmp,
            relay: Box::default(),
            base: None,
            flv_listen: None,
        },
    )
    .await
    .map_err(|e| AppError::HostFailed(e.to_string()))?;
    let info = HostInfo {
        url: host.http_url(),
        lan: false,
        share_url: host.http_url(),
        rtmp_base: host.rtmp_base().to_owned(),
        moved_ports: moves(&host, preferred),
    };
    Ok((host, info))
}

async fn start_lan(preferred: PreferredPorts) -> Result<(Host, HostInfo), AppError> {
    let addresses: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map_err(|e| AppError::HostFailed(format!("cannot list network interfaces: {e}")))?
        .into_iter()
        .filter(|i| i.is_oper_up())
        .map(|i| i.ip())
        .collect();
    let lan_ip = pick_lan_address(&addresses).ok_or_else(|| {
        AppError::HostFailed("this computer has no LAN address (is it on a network?)".into())
    })?;
    let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let http_port = choose_port(any, preferred.http);
    let rtmp_port = choose_port(any, preferred.rtmp);
    let relay = Box::<RelayConfig>::default();
    let base = format!(
        "rtmp://{}/{}",
        SocketAddr::new(lan_ip, rtmp_port),
        relay.app
    );
    let host = Host::start(
        ServerConfig::default(),
        SocketAddr::new(any, http_port),
        RtmpSetup::Embedded {
            listen: SocketAddr::new(any, rtmp_port),
            relay,
            base: Some(base),
            flv_listen: None,
        },
    )
    .await
    .map_err(|e| AppError::HostFailed(e.to_string()))?;
    let info = HostInfo {
        url: format!("http://127.0.0.1:{http_port}"),
        lan: true,
        share_url: format!("http://{}", SocketAddr::new(lan_ip, http_port)),
        rtmp_base: host.rtmp_base().to_owned(),
        moved_ports: moves(&host, preferred),
    };
    Ok((host, info))
}

/// `preferred` when it can be bound on `ip`, else a port the system picks.
pub fn choose_port(ip: IpAddr, preferred: u16) -> u16 {
    TcpListener::bind((ip, preferred))
        .or_else(|_| TcpListener::bind((ip, 0)))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        // Port 0 lets Host::start ask the system itself.
        .unwrap_or(0)
}

/// The address others on the LAN most likely reach us at: a private IPv4 address first, then
/// any other routable IPv4, then a routable IPv6 (never loopback or link-local).
pub fn pick_lan_address(addresses: &[IpAddr]) -> Option<IpAddr> {
    let usable = |ip: &&IpAddr| match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local() && !v4.is_unspecified(),
        IpAddr::V6(v6) => {
            !v6.is_loopback() && !v6.is_unspecified() && (v6.segments()[0] & 0xffc0) != 0xfe80
        }
    };
    let private_v4 = |ip: &&IpAddr| matches!(ip, IpAddr::V4(v4) if v4.is_private());
    addresses
        .iter()
        .filter(usable)
        .find(private_v4)
        .or_else(|| addresses.iter().filter(usable).find(|ip| ip.is_ipv4()))
        .or_else(|| addresses.iter().find(usable))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_lan_address_is_private_ipv4_first() {
        let all = [
            ip("127.0.0.1"),
            ip("fe80::1"),
            ip("169.254.3.4"),
            ip("2001:db8::5"),
            ip("203.0.113.7"),
            ip("192.168.1.20"),
        ];
        assert_eq!(pick_lan_address(&all), Some(ip("192.168.1.20")));
        assert_eq!(pick_lan_address(&all[..5]), Some(ip("203.0.113.7")));
        assert_eq!(pick_lan_address(&all[..4]), Some(ip("2001:db8::5")));
        assert_eq!(pick_lan_address(&all[..3]), None);
    }

    #[test]
    fn a_taken_port_is_replaced_by_a_free_one() {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let taken = TcpListener::bind((lo, 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let chosen = choose_port(lo, port);
        assert_ne!(chosen, port);
        assert_ne!(chosen, 0);
        drop(taken);
        assert_eq!(choose_port(lo, port), port);
    }

    #[test]
    fn only_ports_not_got_are_reported() {
        assert!(port_moves([("http", 8080, 8080), ("rtmp", 1935, 1935)]).is_empty());
        assert_eq!(
            port_moves([("http", 8080, 41234), ("rtmp", 1935, 1935)]),
            [PortMove {
                service: "http",
                wanted: 8080,
                used: 41234
            }]
        );
    }

    #[tokio::test]
    async fn a_taken_port_is_reported_with_the_one_used_instead() {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let taken = TcpListener::bind((lo, 0)).unwrap();
        let wanted = taken.local_addr().unwrap().port();
        let free = TcpListener::bind((lo, 0)).unwrap();
        let rtmp = free.local_addr().unwrap().port();
        drop(free);
        let service = HostService::with_ports(PreferredPorts { http: wanted, rtmp });
        let info = service.start(false).await.unwrap();
        assert_eq!(info.moved_ports.len(), 1, "{:?}", info.moved_ports);
        let moved = &info.moved_ports[0];
        assert_eq!((moved.service, moved.wanted), ("http", wanted));
        assert_ne!(moved.used, wanted);
        assert_eq!(info.url, format!("http://127.0.0.1:{}", moved.used));
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["movedPorts"][0]["wanted"], wanted);
        service.stop().await;
        drop(taken);
    }

    #[tokio::test]
    async fn hosts_on_loopback_and_answers_the_room_api() {
        let service = HostService::default();
        let info = service.start(false).await.unwrap();
        assert!(info.url.starts_with("http://127.0.0.1:"));
        assert_eq!(info.share_url, info.url);
        assert!(info.rtmp_base.starts_with("rtmp://127.0.0.1:"));
        // Asking again in the same mode keeps the same servers.
        assert_eq!(service.start(false).await.unwrap(), info);
        let rooms = crate::lobby::list_rooms(&info.url).await.unwrap();
        assert!(rooms.is_empty());
        service.stop().await;
        assert!(service.status().await.is_none());
        assert_eq!(
            crate::lobby::list_rooms(&info.url)
                .await
                .unwrap_err()
                .kind(),
            "unreachable"
        );
    }
}
