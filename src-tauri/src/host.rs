//! Host mode: the room server and RTMP relay of `quartet-server` running inside the app, on
//! loopback for calls on this machine, or on every interface with this machine's LAN address
//! in members' URLs when others should join.

use crate::error::AppError;
use quartet_relay::RelayConfig;
use quartet_server::{Host, RtmpSetup, ServerConfig};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use tokio::sync::Mutex;

/// The room server's port when it is free (the one `quartet server` uses), so the address
/// people type stays the same from one session to the next.
pub const PREFERRED_HTTP_PORT: u16 = 8080;
/// The relay's port when it is free (RTMP's usual port).
pub const PREFERRED_RTMP_PORT: u16 = 1935;

/// Where a hosted call can be reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

/// Starts, restarts and stops the hosted servers; one at a time.
#[derive(Default)]
pub struct HostService {
    running: Mutex<Option<(Host, HostInfo)>>,
}

impl HostService {
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
            start_lan().await?
        } else {
            start_local().await?
        };
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

async fn start_local() -> Result<(Host, HostInfo), AppError> {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let http = SocketAddr::new(ip, choose_port(ip, PREFERRED_HTTP_PORT));
    let rtmp = SocketAddr::new(ip, choose_port(ip, PREFERRED_RTMP_PORT));
    let host = Host::start(
        ServerConfig::default(),
        http,
        RtmpSetup::Embedded {
            listen: rtmp,
            relay: Box::default(),
            base: None,
        },
    )
    .await
    .map_err(|e| AppError::HostFailed(e.to_string()))?;
    let info = HostInfo {
        url: host.http_url(),
        lan: false,
        share_url: host.http_url(),
        rtmp_base: host.rtmp_base().to_owned(),
    };
    Ok((host, info))
}

async fn start_lan() -> Result<(Host, HostInfo), AppError> {
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
    let http_port = choose_port(any, PREFERRED_HTTP_PORT);
    let rtmp_port = choose_port(any, PREFERRED_RTMP_PORT);
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
        },
    )
    .await
    .map_err(|e| AppError::HostFailed(e.to_string()))?;
    let info = HostInfo {
        url: format!("http://127.0.0.1:{http_port}"),
        lan: true,
        share_url: format!("http://{}", SocketAddr::new(lan_ip, http_port)),
        rtmp_base: host.rtmp_base().to_owned(),
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
