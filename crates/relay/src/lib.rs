//! The embedded RTMP relay: signed publish, fan-out, keyframe cache, live status.
