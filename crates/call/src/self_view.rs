//! Our own picture for the page as H.264 ([`quartet_media::self_view`]): an encoder that runs
//! only while someone reads it, fed from the call's (or the pre-join preview's) pictures.

use crate::devices::FrameSlot;
use quartet_media::{EncodedVideo, SelfViewEncoder, SelfViewError};
use std::time::Duration;
use tokio::sync::broadcast;

/// How often a self view whose pictures have stopped (camera off) checks that it still has
/// readers, so an abandoned one is stopped within this.
pub const SELF_VIEW_IDLE_CHECK: Duration = Duration::from_secs(1);

/// Starts encoding `pictures` at about `fps` and returns the first reader of the access units.
/// The encoder stops, and its thread is joined, once every reader is gone or `pictures` ends.
/// Must be called within a Tokio runtime.
pub fn encode_pictures(
    mut pictures: FrameSlot,
    fps: u32,
) -> Result<broadcast::Receiver<EncodedVideo>, SelfViewError> {
    let encoder = SelfViewEncoder::start(fps)?;
    let packets = encoder.packets();
    tokio::spawn(async move {
        // The picture already there goes first: a still camera would otherwise show nothing.
        let mut next = pictures.borrow_and_update().clone();
        loop {
            if let Some(picture) = next.take() {
                encoder.offer(picture);
            }
            if encoder.readers() == 0 {
                break;
            }
            match tokio::time::timeout(SELF_VIEW_IDLE_CHECK, pictures.changed()).await {
                Ok(Ok(())) => next = pictures.borrow_and_update().clone(),
                Ok(Err(_)) => break,
                Err(_) => {}
            }
        }
        let _ = tokio::task::spawn_blocking(move || drop(encoder)).await;
    });
    Ok(packets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quartet_media::SyntheticVideo;
    use std::sync::Arc;
    use tokio::sync::watch;

    #[tokio::test]
    async fn pictures_come_out_encoded_and_the_encoder_stops_with_its_last_reader() {
        let src = SyntheticVideo::new("me", 320, 180, 15).unwrap();
        let (tx, rx) = watch::channel(Some(Arc::new(src.render(0, 1_000_000))));
        let mut packets = encode_pictures(rx, 15).unwrap();
        let first = tokio::time::timeout(Duration::from_secs(10), packets.recv())
            .await
            .expect("the picture already there is encoded")
            .unwrap();
        assert!(first.keyframe);
        tx.send_replace(Some(Arc::new(src.render(1, 1_066_666))));
        let second = tokio::time::timeout(Duration::from_secs(10), packets.recv())
            .await
            .expect("a new picture is encoded")
            .unwrap();
        assert!(!second.keyframe);
        drop(packets);
        // With its reader gone the task ends and lets go of the pictures.
        tx.send_replace(Some(Arc::new(src.render(2, 1_133_333))));
        tokio::time::timeout(Duration::from_secs(10), async {
            while tx.receiver_count() > 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the encoder stopped");
    }
}
