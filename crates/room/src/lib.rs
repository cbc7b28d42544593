//! The room client engine: a typed API client and a session actor. No media.
