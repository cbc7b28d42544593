//! Times as FLV takes them: nothing before a connection's first packet, and pictures in strictly
//! increasing decoding order.

/// The decoding time to write a picture at: no earlier than the connection's `first` packet,
/// and after the `last` picture written, so two pictures moved up to `first` never share one
/// (FFmpeg's demuxers refuse a stream whose times do not increase).
pub(crate) fn video_dts(dts: i64, first: i64, last: Option<i64>) -> i64 {
    let earliest = last.map_or(first, |l| (l + 1).max(first));
    dts.max(earliest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_before_the_first_packet_move_up_and_stay_in_order() {
        // Sound opened the connection at 40 ms; two pictures were captured before it.
        assert_eq!(video_dts(20, 40, None), 40);
        assert_eq!(video_dts(30, 40, Some(40)), 41);
        assert_eq!(video_dts(106, 40, Some(41)), 106);
        assert_eq!(video_dts(50, 0, Some(50)), 51);
    }
}
