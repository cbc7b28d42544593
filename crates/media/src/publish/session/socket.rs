//! What the kernel knows of the RTMP socket (unsent bytes, round-trip floor), where it says.

use std::time::Duration;

#[cfg(target_os = "linux")]
use crate::ffi;
use crate::ffi::InterruptibleOutput;

#[cfg(target_os = "linux")]
pub(super) fn socket_of(output: &InterruptibleOutput) -> Option<std::os::raw::c_int> {
    ffi::rtmp_socket(output)
}

#[cfg(not(target_os = "linux"))]
pub(super) fn socket_of(_: &InterruptibleOutput) -> Option<std::os::raw::c_int> {
    None
}

#[cfg(target_os = "linux")]
pub(super) fn backlog_of(fd: std::os::raw::c_int) -> Option<u64> {
    ffi::unsent_bytes(fd)
}

#[cfg(not(target_os = "linux"))]
pub(super) fn backlog_of(_: std::os::raw::c_int) -> Option<u64> {
    None
}

#[cfg(target_os = "linux")]
pub(super) fn rtt_floor_of(fd: std::os::raw::c_int) -> Option<Duration> {
    ffi::min_rtt(fd)
}

#[cfg(not(target_os = "linux"))]
pub(super) fn rtt_floor_of(_: std::os::raw::c_int) -> Option<Duration> {
    None
}
