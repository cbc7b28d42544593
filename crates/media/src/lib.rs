//! Capture, encode and push, pull and decode, audio mix and output. The only FFmpeg user.
