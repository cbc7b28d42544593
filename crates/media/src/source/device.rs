//! Pictures read from an FFmpeg input device (a camera, a screen grab): the decoder behind the
//! device's packets, and the scaling of what it decodes. The sources differ in how they open
//! the device and in the size they want; the reading is the same.

use super::{DeviceKind, SourceError};
use crate::convert::Scaler;
use crate::frame::{VideoFrame, unix_micros};
use ffmpeg_next::format::context::Input;
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::{Error, Packet, codec, decoder, frame, media};

/// An opened device's video stream, decoded.
pub(crate) struct DeviceVideo {
    kind: DeviceKind,
    input: Input,
    stream: usize,
    decoder: decoder::Video,
    scaler: Scaler,
    decoded: frame::Video,
}

impl DeviceVideo {
    /// The best video stream of `input`; `unavailable` says why there is none to decode.
    pub(crate) fn new(
        kind: DeviceKind,
        input: Input,
        unavailable: impl Fn(String) -> SourceError,
    ) -> Result<DeviceVideo, SourceError> {
        let stream = input
            .streams()
            .best(media::Type::Video)
            .ok_or_else(|| unavailable("no video stream".to_owned()))?;
        let index = stream.index();
        let decoder = codec::Context::from_parameters(stream.parameters())
            .and_then(|c| c.decoder().video())
            .map_err(|e| unavailable(format!("no decoder: {e}")))?;
        Ok(DeviceVideo {
            kind,
            input,
            stream: index,
            decoder,
            scaler: Scaler::default(),
            decoded: frame::Video::empty(),
        })
    }

    /// The next picture, at the size `size` gives for the decoded one's, stamped with its
    /// capture time; `None` when the device has nothing yet.
    pub(crate) fn next_frame(
        &mut self,
        size: impl Fn(u32, u32) -> (u32, u32),
    ) -> Result<Option<VideoFrame>, SourceError> {
        loop {
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => {
                    let (w, h) = size(self.decoded.width(), self.decoded.height());
                    let mut f = self.scaler.frame_at(&self.decoded, w, h)?;
                    f.capture_us = Some(unix_micros());
                    return Ok(Some(f));
                }
                Err(Error::Other { errno: EAGAIN }) => {}
                Err(e) => return Err(self.failed(e)),
            }
            let mut packet = Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.stream => {
                    self.decoder
                        .send_packet(&packet)
                        .map_err(|e| self.failed(e))?;
                }
                Ok(()) => {}
                // Non-blocking devices report "nothing yet".
                Err(Error::Other { errno: EAGAIN }) => return Ok(None),
                Err(e) => return Err(self.failed(e)),
            }
        }
    }

    fn failed(&self, e: Error) -> SourceError {
        match e {
            Error::Exit => SourceError::Interrupted,
            e => SourceError::Failed {
                kind: self.kind,
                reason: e.to_string(),
            },
        }
    }
}
