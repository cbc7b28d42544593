//! Pulling RTMP: connect with low-latency options, demux, feed the packet tap and the decoder,
//! reconnect with backoff.

use super::{
    EncodedVideo, PlayerEvent, RTMP_BUFFER_MS, Shared, ToDecoder, VideoDecoding, lock, ms, schedule,
};
use crate::backoff;
use crate::ffi;
use ffmpeg_next::codec::packet::side_data;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::{Dictionary, Error, Packet, Rational, codec, media};
use quartet_proto::redact::Redacted;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

fn open(shared: &Shared) -> Result<Input, Error> {
    let mut o = Dictionary::new();
    o.set("tcp_nodelay", "1");
    o.set("rw_timeout", &shared.read_timeout.as_micros().to_string());
    o.set("rtmp_buffer", &RTMP_BUFFER_MS.to_string());
    o.set("rtmp_live", "live");
    // Probing is skipped (see the module docs); these keep anything that still reads ahead
    // (format detection) minimal.
    o.set("probesize", "32");
    o.set("analyzeduration", "1");
    o.set("fpsprobesize", "0");
    o.set("fflags", "nobuffer");
    let mut stop = shared.stop.checker();
    let again = Arc::clone(&shared.reconnect_now);
    let interrupt = move || stop() || again.load(Ordering::Relaxed);
    ffi::open_input(&shared.url(), Some("flv"), o, interrupt, false)
}

enum Ended {
    Stopped,
    Lost(String),
}

/// The `media-play-read` thread: connects, reads, reconnects until stopped.
pub(super) fn run(shared: &Shared, tx: &SyncSender<ToDecoder>) {
    let mut reconnect = backoff::reconnect();
    let mut attempt = 0u32;
    let mut ever_connected = false;
    while !shared.stop.is_stopped() {
        attempt += 1;
        shared.emit(PlayerEvent::Connecting { attempt });
        let began = Instant::now();
        shared.reconnect_now.store(false, Ordering::SeqCst);
        let reason = match open(shared) {
            Ok(mut input) => {
                {
                    let mut c = lock(&shared.counters);
                    c.connected = true;
                    if ever_connected {
                        c.reconnects += 1;
                    }
                }
                ever_connected = true;
                attempt = 0;
                schedule::flush_packets(shared);
                shared.emit(PlayerEvent::Playing);
                let ended = if tx.send(ToDecoder::Connected { began }).is_err() {
                    Ended::Stopped
                } else {
                    read_packets(shared, &mut input, tx)
                };
                lock(&shared.counters).connected = false;
                match ended {
                    Ended::Stopped => break,
                    Ended::Lost(reason) => reason,
                }
            }
            Err(e) => e.to_string(),
        };
        if shared.stop.is_stopped() {
            break;
        }
        let retry_in = if shared.reconnect_now.swap(false, Ordering::SeqCst) {
            reconnect.reset();
            Duration::ZERO
        } else {
            reconnect.connection_ended(began.elapsed());
            reconnect.next_delay()
        };
        tracing::debug!(
            "playing {} failed: {reason}; retrying in {retry_in:?}",
            Redacted(&shared.url())
        );
        shared.emit(PlayerEvent::Disconnected { reason, retry_in });
        if shared.stop.sleep(retry_in) {
            break;
        }
    }
    shared.emit(PlayerEvent::Stopped);
}

fn read_packets(shared: &Shared, input: &mut Input, tx: &SyncSender<ToDecoder>) -> Ended {
    let mut kinds: HashMap<usize, (media::Type, Rational)> = HashMap::new();
    let mut avcc: Arc<[u8]> = Arc::from(Vec::new());
    let mut keyed = false;
    loop {
        let mut packet = Packet::empty();
        match packet.read(input) {
            Ok(()) => {}
            Err(Error::Other { errno: EAGAIN }) => continue,
            Err(Error::Eof) => return Ended::Lost("the stream ended".to_owned()),
            Err(Error::Exit) if shared.stop.is_stopped() => return Ended::Stopped,
            Err(Error::Exit) => return Ended::Lost("reconnect requested".to_owned()),
            Err(e) => return Ended::Lost(e.to_string()),
        }
        let index = packet.stream();
        let (kind, tb) = match kinds.get(&index) {
            Some(k) => *k,
            None => {
                let Some(stream) = input.stream(index) else {
                    continue;
                };
                let tb = stream.time_base();
                let Ok(ctx) = codec::Context::from_parameters(stream.parameters()) else {
                    continue;
                };
                let kind = ctx.medium();
                kinds.insert(index, (kind, tb));
                lock(&shared.counters).stream_info.learn(&stream);
                if kind == media::Type::Video {
                    avcc = Arc::from(ffi::extradata(&ctx));
                }
                let wanted = match kind {
                    media::Type::Video => shared.video.decodes(),
                    media::Type::Audio => shared.mixer.is_some(),
                    _ => false,
                };
                if wanted
                    && tx
                        .send(ToDecoder::Stream {
                            index,
                            kind,
                            ctx,
                            time_base: tb,
                        })
                        .is_err()
                {
                    return Ended::Stopped;
                }
                (kind, tb)
            }
        };
        lock(&shared.counters)
            .bytes
            .record(Instant::now(), packet.size() as u64);
        match kind {
            media::Type::Video => {
                for sd in packet.side_data() {
                    if sd.kind() == side_data::Type::NewExtraData {
                        avcc = Arc::from(sd.data());
                    }
                }
                if !keyed && packet.is_key() {
                    keyed = true;
                    shared.emit(PlayerEvent::FirstKeyframe);
                }
                let dts_ms = ms(packet.dts().or(packet.pts()), tb);
                count_unit(shared, packet.is_key(), dts_ms);
                shared.latest_video_dts.store(dts_ms, Ordering::SeqCst);
                if let Some(data) = packet
                    .data()
                    .filter(|_| shared.packets.receiver_count() > 0)
                {
                    let encoded = EncodedVideo {
                        data: Arc::from(data),
                        keyframe: packet.is_key(),
                        pts_ms: ms(packet.pts(), tb),
                        dts_ms,
                        config: Arc::clone(&avcc),
                    };
                    schedule::offer_packet(shared, encoded);
                }
                if shared.video.decodes() && tx.send(ToDecoder::Packet(packet)).is_err() {
                    return Ended::Stopped;
                }
            }
            media::Type::Audio
                if shared.mixer.is_some() && tx.send(ToDecoder::Packet(packet)).is_err() =>
            {
                return Ended::Stopped;
            }
            _ => {}
        }
    }
}

/// Counts a video unit that arrived: its rate, and the keyframe interval.
fn count_unit(shared: &Shared, keyframe: bool, dts_ms: i64) {
    let mut c = lock(&shared.counters);
    c.units += 1;
    if shared.video != VideoDecoding::Always {
        // Not every picture is shown here: the stream's rate is what arrives.
        c.fps.record(Instant::now(), 1);
    }
    if keyframe {
        if let Some(last) = c.last_keyframe_ms.filter(|&last| last < dts_ms) {
            c.keyframe_interval_ms = Some((dts_ms - last) as f64);
        }
        c.last_keyframe_ms = Some(dts_ms);
    }
}
