//! Shared helpers for the end-to-end tests: a room server on loopback (with the embedded relay,
//! or pointing its members at an external RTMP server such as nginx-rtmp), members with
//! synthetic media, and waits that end on events, never on a fixed sleep.

#[cfg(target_os = "linux")]
pub mod xvfb;

use anyhow::{Context, Result, bail};
use quartet_call::{Call, CallConfig, CallEvent, CallHandle, MediaSettings, Tile};
use quartet_proto::RoomKind;
use quartet_relay::{RelayConfig, RelayHandle};
use quartet_room::{JoinTarget, SessionConfig};
use quartet_server::{RtmpSetup, ServerConfig};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use url::Url;

/// Generous: these wait for things to happen, they do not measure how fast.
pub const DEADLINE: Duration = Duration::from_secs(60);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);
/// Small pictures keep four encoders and twelve decoders light on two cores.
pub const TEST_WIDTH: u32 = 320;
/// See [`TEST_WIDTH`].
pub const TEST_HEIGHT: u32 = 180;
/// Video bitrate of test members, kbit/s.
pub const TEST_VIDEO_KBPS: u32 = 300;
/// RMS above which a tile's sound counts as the tone (the tone's RMS is about 0.14).
pub const AUDIBLE: f32 = 0.05;
/// RMS below which a tile's sound counts as silence.
pub const SILENT: f32 = 0.001;
/// Avatar of test members: v1 servers refuse an empty one.
const AVATAR: &str = quartet_proto::limits::INITIALS_AVATAR;

/// Logs to the test's output, filtered by `RUST_LOG` (default: warnings).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// Polls `check` until it holds, failing with `what` after [`DEADLINE`].
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) -> Result<()> {
    let end = Instant::now() + DEADLINE;
    loop {
        if check() {
            return Ok(());
        }
        if Instant::now() >= end {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Where the test servers listen: any free loopback port.
const LOOPBACK: &str = "127.0.0.1:0";

/// A room server on a free loopback port, with or without the embedded relay.
pub struct Host {
    /// The room server's base URL.
    pub url: Url,
    host: quartet_server::Host,
}

impl Host {
    /// A room server whose members push to and play from `rtmp_base` (an RTMP server we do not
    /// run, e.g. nginx-rtmp); `configure` adjusts the rest.
    pub async fn external(
        rtmp_base: &str,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Result<Host> {
        let rtmp = RtmpSetup::External {
            base: rtmp_base.to_owned(),
        };
        Host::start(rtmp, configure).await
    }

    /// A room server and the embedded relay, which checks the server's publish signatures.
    pub async fn with_relay(configure: impl FnOnce(&mut ServerConfig)) -> Result<Host> {
        Host::with_relay_at(LOOPBACK.parse()?, LOOPBACK.parse()?, configure).await
    }

    /// [`Host::with_relay`] on given addresses, e.g. those of a host that stopped, to restart it.
    pub async fn with_relay_at(
        http: SocketAddr,
        rtmp: SocketAddr,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Result<Host> {
        let rtmp = RtmpSetup::Embedded {
            listen: rtmp,
            relay: Box::default(),
            base: None,
            flv_listen: None,
        };
        Host::start_at(http, rtmp, configure).await
    }

    /// [`Host::with_relay`] with the relay's own settings (recording, limits).
    pub async fn with_relay_config(
        relay: RelayConfig,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Result<Host> {
        let rtmp = RtmpSetup::Embedded {
            listen: LOOPBACK.parse()?,
            relay: Box::new(relay),
            base: None,
            flv_listen: None,
        };
        Host::start(rtmp, configure).await
    }

    async fn start(rtmp: RtmpSetup, configure: impl FnOnce(&mut ServerConfig)) -> Result<Host> {
        Host::start_at(LOOPBACK.parse()?, rtmp, configure).await
    }

    async fn start_at(
        http: SocketAddr,
        rtmp: RtmpSetup,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Result<Host> {
        let mut config = ServerConfig::default();
        configure(&mut config);
        let host = quartet_server::Host::start(config, http, rtmp).await?;
        Ok(Host {
            url: Url::parse(&host.http_url())?,
            host,
        })
    }

    /// The room server's and the relay's bound addresses.
    pub fn addrs(&self) -> (SocketAddr, Option<SocketAddr>) {
        (self.host.http_addr(), self.host.rtmp_addr())
    }

    /// The room server itself.
    pub fn server(&self) -> &quartet_server::Server {
        self.host.server()
    }

    /// The embedded relay, when there is one.
    pub fn relay(&self) -> Option<&RelayHandle> {
        self.host.relay()
    }

    /// Stops the servers and waits for them.
    pub async fn stop(self) -> Result<()> {
        Ok(self.host.stop().await?)
    }
}

/// A test member's call settings: synthetic pictures with its name, a tone, no speaker.
pub fn member_config(server: &Url, target: JoinTarget, name: &str) -> CallConfig {
    let session = SessionConfig::new(server.clone(), RoomKind::MultiRoom, target, name, AVATAR);
    CallConfig {
        media: MediaSettings {
            width: TEST_WIDTH,
            height: TEST_HEIGHT,
            video_kbps: TEST_VIDEO_KBPS,
            tile_width: TEST_WIDTH / 2,
            tile_height: TEST_HEIGHT / 2,
            ..MediaSettings::default()
        },
        ..CallConfig::synthetic(session)
    }
}

/// Every event a call has sent, kept so a test can wait for one and show the rest on failure.
#[derive(Clone, Default)]
struct EventLog(Arc<Mutex<Vec<CallEvent>>>);

impl EventLog {
    fn lock(&self) -> MutexGuard<'_, Vec<CallEvent>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A member in a test call.
pub struct TestMember {
    /// Its display name.
    pub name: String,
    /// The call.
    pub call: CallHandle,
    log: EventLog,
    reader: JoinHandle<()>,
}

impl TestMember {
    /// Starts a call with `config`.
    pub async fn start(config: CallConfig) -> Result<TestMember> {
        let name = config.session.user_name.clone();
        let (call, mut events) = Call::start(config)
            .await
            .with_context(|| format!("{name} could not start a call"))?;
        let log = EventLog::default();
        let sink = log.clone();
        let reader = tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                sink.lock().push(e);
            }
        });
        Ok(TestMember {
            name,
            call,
            log,
            reader,
        })
    }

    /// Our userID.
    pub fn user_id(&self) -> String {
        self.call.user_id()
    }

    /// A position in the event log, to wait for events that come after it.
    pub fn mark(&self) -> usize {
        self.log.lock().len()
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<CallEvent> {
        self.log.lock().clone()
    }

    /// The first event after `mark` matching `pred`.
    pub async fn event_since(
        &self,
        mark: usize,
        what: &str,
        pred: impl Fn(&CallEvent) -> bool,
    ) -> Result<CallEvent> {
        let mut found = None;
        let waited = eventually(what, || {
            found = self.log.lock().iter().skip(mark).find(|e| pred(e)).cloned();
            found.is_some()
        })
        .await;
        match (waited, found) {
            (Ok(()), Some(e)) => Ok(e),
            _ => bail!(
                "{}: no event {what}; saw {:#?}",
                self.name,
                self.events().get(mark..)
            ),
        }
    }

    /// The tile playing `user_id`, if any.
    pub fn tile_of(&self, user_id: &str) -> Option<Tile> {
        self.call
            .tiles()
            .into_iter()
            .find(|t| t.member.user_id == user_id)
    }

    /// Leaves the call and stops reading its events.
    pub async fn leave(self) -> Result<()> {
        self.call.leave(quartet_call::LeaveMode::Leave).await?;
        self.reader.abort();
        Ok(())
    }
}

/// A call of `names`: the first creates the room, the others join in order. Returns once
/// every member plays everyone it has a tile for.
pub async fn start_call(server: &Url, names: &[&str]) -> Result<Vec<TestMember>> {
    let Some((first, rest)) = names.split_first() else {
        bail!("a call needs at least one member");
    };
    let creator = TestMember::start(member_config(
        server,
        JoinTarget::Create {
            room_name: format!("{first}'s room"),
        },
        first,
    ))
    .await?;
    let room_id = creator.call.room_id();
    let mut members = vec![creator];
    for name in rest {
        let target = JoinTarget::Join {
            room_id: room_id.clone(),
        };
        members.push(TestMember::start(member_config(server, target, name)).await?);
    }
    let played = (names.len() - 1).min(quartet_call::REMOTE_TILES);
    for m in &members {
        eventually(&format!("{} to play {played} members", m.name), || {
            m.call.tiles().len() == played
        })
        .await?;
    }
    Ok(members)
}

/// Waits until `viewer` decodes `other`'s pictures (with a readable frame clock) and hears
/// its tone.
pub async fn sees_and_hears(viewer: &TestMember, other: &TestMember) -> Result<()> {
    let id = other.user_id();
    let what = format!("{} to see and hear {}", viewer.name, other.name);
    eventually(&what, || {
        viewer.tile_of(&id).is_some_and(|t| {
            let s = t.stats();
            let clocked = t
                .frames()
                .borrow()
                .as_ref()
                .is_some_and(|f| f.capture_us.is_some());
            clocked && s.frames_decoded > 0 && s.latency_ms_p50.is_some() && s.audio_level > AUDIBLE
        })
    })
    .await
    .with_context(|| format!("{:?}", viewer.tile_of(&id).map(|t| t.stats())))
}

/// Waits until every member decodes and hears every other member it has a tile for, and
/// its speaker mix carries sound.
pub async fn everyone_sees_and_hears_everyone(members: &[TestMember]) -> Result<()> {
    for viewer in members {
        for other in members {
            if viewer.user_id() != other.user_id() && viewer.tile_of(&other.user_id()).is_some() {
                sees_and_hears(viewer, other).await?;
            }
        }
        eventually(
            &format!("{}'s speaker mix to carry sound", viewer.name),
            || viewer.call.stats().mix_level > SILENT,
        )
        .await?;
    }
    Ok(())
}

/// Everyone leaves, last member first.
pub async fn leave_all(members: Vec<TestMember>) -> Result<()> {
    for m in members.into_iter().rev() {
        m.leave().await?;
    }
    Ok(())
}
