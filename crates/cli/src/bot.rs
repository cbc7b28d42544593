//! `quartet bot`: a headless member with synthetic media. It publishes a test pattern with its
//! name and a tone, plays the others, prints live figures, writes the four-up grid it sees as a
//! PNG, and at exit the per-member figures as JSON.

mod figures;
mod print;
mod v1;

use crate::member::MemberArgs;
use anyhow::{Context, Result};
use clap::Args;
use figures::{FIGURES_EVERY, Played, stats_json, stats_line};
use image::ImageFormat;
use print::{print_event, remember_names};
use quartet_call::config::{DEFAULT_FPS, DEFAULT_HEIGHT, DEFAULT_WIDTH};
use quartet_call::{Call, CallConfig, CallEvent, CallHandle, MediaSettings, Receive, VideoInput};
use quartet_room::SessionConfig;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

/// How often `quartet bot` rewrites its snapshot, and prints its figures unless told otherwise.
pub(crate) const BOT_TICK: Duration = Duration::from_secs(1);
/// The shortest `--stats-every`, ms: the figures are medians and rates over a second or two, so
/// printing faster only repeats them (a benchmark timing a recovery wants about 250 ms).
pub const MIN_STATS_EVERY_MS: u64 = 100;

/// Flags of `quartet bot`.
#[derive(Args)]
pub struct BotArgs {
    #[command(flatten)]
    member: MemberArgs,
    /// Leave after this many seconds (default: stay until Ctrl-C).
    #[arg(long)]
    duration: Option<u64>,
    /// Write the four-up grid we see to this PNG every second.
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// At exit, write each played member's figures to this JSON file.
    #[arg(long)]
    stats_json: Option<PathBuf>,
    /// Print a line of figures every this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = BOT_TICK.as_millis() as u64,
          value_parser = clap::value_parser!(u64).range(MIN_STATS_EVERY_MS..))]
    stats_every: u64,
    /// What we send pictures of: `pattern` (a test pattern with our name and a frame clock) or
    /// `screen[:DISPLAY]` (the screen, e.g. `screen::99`; the main one without a name).
    #[arg(long, default_value = "pattern", value_parser = parse_video)]
    video: BotVideo,
    /// Width of the pictures we send (the snapshot has the same size).
    #[arg(long, default_value_t = DEFAULT_WIDTH)]
    width: u32,
    /// Height of the pictures we send.
    #[arg(long, default_value_t = DEFAULT_HEIGHT)]
    height: u32,
    /// Frames per second we send.
    #[arg(long, default_value_t = DEFAULT_FPS)]
    fps: u32,
    /// Which of the others' streams to play: each as our downlink allows (auto), or always
    /// their small (data saver) or main stream.
    #[arg(long, value_enum, default_value_t = ReceiveArg::Auto)]
    receive: ReceiveArg,
    /// Be the original mini-program client: no token, no event channel, its heartbeat cadence,
    /// no polling, and the stream its live-pusher sent (360×640 portrait, 15 fps, 1000 kbit/s).
    #[arg(long, conflicts_with_all = ["width", "height", "fps", "no_small_stream", "video"])]
    v1: bool,
    /// Send no small second stream, even where the room server offers one.
    #[arg(long, env = "QUARTET_NO_SMALL_STREAM",
          value_parser = clap::builder::FalseyValueParser::new())]
    no_small_stream: bool,
}

/// `--receive`: the call's [`Receive`] setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReceiveArg {
    /// Each tile as our downlink allows.
    Auto,
    /// Small streams only (data saver).
    Small,
    /// Main streams only.
    Main,
}

impl From<ReceiveArg> for Receive {
    fn from(r: ReceiveArg) -> Receive {
        match r {
            ReceiveArg::Auto => Receive::Auto,
            ReceiveArg::Small => Receive::Small,
            ReceiveArg::Main => Receive::Main,
        }
    }
}

/// How a bot behaves, whoever starts it (`quartet bot` or `quartet demo`).
pub(crate) struct BotOptions {
    /// The call to make.
    pub(crate) config: CallConfig,
    /// Put before every line printed, to tell several bots apart.
    pub(crate) prefix: String,
    /// Leave after this long.
    pub(crate) duration: Option<Duration>,
    /// Print figures this often.
    pub(crate) stats_every: Option<Duration>,
    /// Rewrite the grid PNG here every [`BOT_TICK`].
    pub(crate) snapshot: Option<PathBuf>,
    /// Write the figures here at exit.
    pub(crate) stats_json: Option<PathBuf>,
}

/// What a bot sends pictures of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotVideo {
    /// The test pattern.
    Pattern,
    /// A screen: its name, or the main one.
    Screen(Option<String>),
}

/// `pattern`, `screen` or `screen:NAME`.
fn parse_video(s: &str) -> Result<BotVideo, String> {
    match s.split_once(':') {
        _ if s == "pattern" => Ok(BotVideo::Pattern),
        _ if s == "screen" => Ok(BotVideo::Screen(None)),
        Some(("screen", name)) if !name.is_empty() => Ok(BotVideo::Screen(Some(name.to_owned()))),
        _ => Err(format!(
            "expected `pattern`, `screen` or `screen:NAME` (e.g. screen::0), got `{s}`"
        )),
    }
}

/// The call settings of a synthetic member of `width`×`height` at `fps`.
pub(crate) fn bot_config(session: SessionConfig, width: u32, height: u32, fps: u32) -> CallConfig {
    CallConfig {
        media: MediaSettings {
            width,
            height,
            fps,
            tile_width: (width / 2).max(2),
            tile_height: (height / 2).max(2),
            ..MediaSettings::default()
        },
        ..CallConfig::synthetic(session)
    }
}

/// Runs `quartet bot` until `--duration`, Ctrl-C or the room closing.
pub async fn run(args: BotArgs) -> Result<()> {
    let mut session = args.member.session_config()?;
    let server = session.server.clone();
    let (width, height, fps) = if args.v1 {
        v1::v1_session(&mut session);
        (v1::V1_WIDTH, v1::V1_HEIGHT, v1::V1_FPS)
    } else {
        (args.width, args.height, args.fps)
    };
    let mut config = bot_config(session, width, height, fps);
    if let BotVideo::Screen(screen) = args.video {
        config.video = VideoInput::Screen(screen);
    }
    config.media.receive = args.receive.into();
    config.media.send_small = !args.no_small_stream;
    if args.v1 {
        v1::v1_media(&mut config.media);
    }
    let bot = Bot::start(BotOptions {
        config,
        prefix: String::new(),
        duration: args.duration.map(Duration::from_secs),
        stats_every: Some(Duration::from_millis(args.stats_every)),
        snapshot: args.snapshot,
        stats_json: args.stats_json,
    })
    .await
    .with_context(|| format!("could not join on {server}"))?;
    bot.run(crate::shutdown_signal()).await
}

/// A started bot.
pub(crate) struct Bot {
    call: CallHandle,
    events: mpsc::Receiver<CallEvent>,
    options: BotOptions,
    /// Names by userID of everyone seen, kept after they leave: events about a member can
    /// arrive after it has gone from the member list.
    names: HashMap<String, String>,
}

impl Bot {
    /// Joins the call.
    pub(crate) async fn start(options: BotOptions) -> Result<Bot> {
        if let Some(problem) = options.config.media.problem() {
            anyhow::bail!("{problem}");
        }
        let (call, events) = Call::start(options.config.clone()).await?;
        Ok(Bot {
            call,
            events,
            options,
            names: HashMap::new(),
        })
    }

    /// The room we are in.
    pub(crate) fn room_id(&self) -> String {
        self.call.room_id()
    }

    /// Prints events and figures and writes snapshots until the duration is up, `stop`
    /// completes or the room closes; then leaves and writes the figures.
    pub(crate) async fn run(mut self, stop: impl Future<Output = ()>) -> Result<()> {
        let prefix = self.options.prefix.clone();
        let mut tick = tokio::time::interval(BOT_TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let stats_every = self.options.stats_every;
        let mut stats_tick = tokio::time::interval(stats_every.unwrap_or(BOT_TICK));
        stats_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The first figures after one period, not at once (nothing is playing yet).
        stats_tick.reset();
        let mut figures_tick = tokio::time::interval(FIGURES_EVERY);
        figures_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let keep_figures = self.options.stats_json.is_some();
        let mut played = Played::default();
        let started = Instant::now();
        let until = self.options.duration.map(|d| started + d);
        tokio::pin!(stop);
        let closed = loop {
            tokio::select! {
                _ = &mut stop => break false,
                _ = tokio::time::sleep_until(until.unwrap_or(started)), if until.is_some() => break false,
                event = self.events.recv() => match event {
                    Some(event) => {
                        let closed = matches!(event, CallEvent::RoomClosed { .. });
                        remember_names(&mut self.names, &event);
                        print_event(&prefix, &self.names, &event);
                        if closed {
                            break true;
                        }
                    }
                    None => break true,
                },
                _ = figures_tick.tick(), if keep_figures => {
                    played.record(&self.call.stats(), started.elapsed());
                }
                _ = stats_tick.tick(), if stats_every.is_some() => {
                    println!("{prefix}{}", stats_line(&self.call.stats()));
                }
                _ = tick.tick(), if self.options.snapshot.is_some() => {
                    if let Some(path) = &self.options.snapshot
                        && let Err(e) = write_snapshot(&self.call, path, &self.options.config.media).await
                    {
                        eprintln!("{prefix}! snapshot not written: {e:#}");
                    }
                }
            }
        };
        let stats = self.call.stats();
        played.record(&stats, started.elapsed());
        if !closed {
            self.call
                .leave(quartet_call::LeaveMode::Leave)
                .await
                .context("leaving")?;
            println!("{prefix}left room {}", self.call.room_id());
        }
        if let Some(path) = &self.options.stats_json {
            let json = stats_json(&stats, &played);
            write_atomically(path, |f| Ok(serde_json::to_writer_pretty(f, &json)?))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
}

async fn write_snapshot(call: &CallHandle, path: &Path, media: &MediaSettings) -> Result<()> {
    let (call, path) = (call.clone(), path.to_owned());
    let (w, h) = (media.width, media.height);
    tokio::task::spawn_blocking(move || {
        let grid = call.snapshot_grid(w, h);
        write_atomically(&path, |f| Ok(grid.write_to(f, ImageFormat::Png)?))
    })
    .await?
}

/// Writes through a temporary file beside `path`, then renames it over `path`, so a reader
/// never sees a half-written file.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    let mut file = BufWriter::new(File::create(&tmp)?);
    write(&mut file)?;
    file.flush()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        bot: BotArgs,
    }

    #[test]
    fn receive_is_auto_unless_told_small_or_main() {
        use clap::Parser;
        let base = [
            "quartet",
            "--server",
            "http://127.0.0.1:9",
            "--room",
            "r",
            "--name",
            "A",
        ];
        let parse = |extra: &[&str]| {
            Cli::try_parse_from(base.iter().chain(extra).copied())
                .map(|c| Receive::from(c.bot.receive))
        };
        assert_eq!(parse(&[]).unwrap(), Receive::Auto);
        assert_eq!(parse(&["--receive", "small"]).unwrap(), Receive::Small);
        assert_eq!(parse(&["--receive", "main"]).unwrap(), Receive::Main);
        assert!(parse(&["--receive", "tiny"]).is_err());
    }

    fn stats_every(ms: u64) -> Result<u64, clap::Error> {
        use clap::Parser;
        let ms = ms.to_string();
        let args = [
            "quartet",
            "--server",
            "http://127.0.0.1:9",
            "--room",
            "r",
            "--name",
            "A",
        ];
        Cli::try_parse_from(args.iter().copied().chain(["--stats-every", ms.as_str()]))
            .map(|c| c.bot.stats_every)
    }

    #[test]
    fn figures_are_printed_no_more_often_than_the_floor() {
        let err = stats_every(MIN_STATS_EVERY_MS - 1).unwrap_err().to_string();
        assert!(err.contains("--stats-every"), "{err}");
        assert_eq!(stats_every(MIN_STATS_EVERY_MS).unwrap(), MIN_STATS_EVERY_MS);
        assert_eq!(stats_every(250).unwrap(), 250);
    }

    #[test]
    fn files_are_replaced_whole() {
        let dir = std::env::temp_dir().join(format!("quartet-bot-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.txt");
        write_atomically(&path, |f| Ok(f.write_all(b"one")?)).unwrap();
        let failed = write_atomically(&path, |f| {
            f.write_all(b"half")?;
            anyhow::bail!("interrupted")
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
