//! The only unsafe code of the crate: the few FFmpeg calls ffmpeg-next does not wrap.
//!
//! - Opening an input or output with an interrupt callback installed *before* the blocking
//!   connect, so stopping a player or publisher cancels a hung open, read or write at once
//!   (ffmpeg-next's own interrupt-aware open always probes streams, which adds seconds to a join,
//!   and it has no interrupt-aware output at all).
//! - Listing capture devices of an FFmpeg input device (v4l2, dshow, avfoundation).
//! - Reading a codec context's extradata (the avcC record for the H.264 packet tap).
//! - Setting an open encoder's VBV buffer (its new bitrate goes through ffmpeg-next), and
//!   finding the publisher's TCP socket under FFmpeg's RTMP protocol to read its unsent bytes.
//! - On macOS, AVFoundation's camera authorization (read it; ask the person).
#![allow(unsafe_code)]

use ffmpeg_next::ffi;
use ffmpeg_next::format::context::{Input, Output};
use ffmpeg_next::util::interrupt::{self, InterruptGuard};
use ffmpeg_next::{Dictionary, Error, codec};
use std::ffi::CString;
use std::ops::{Deref, DerefMut};
use std::ptr;

fn cstring(s: &str) -> Result<CString, Error> {
    CString::new(s).map_err(|_| Error::InvalidData)
}

/// Finds a demuxer or input device by name; null when FFmpeg has none of that name.
fn find_input_format(name: &str) -> Result<*const ffi::AVInputFormat, Error> {
    let name = cstring(name)?;
    // SAFETY: a valid NUL-terminated string; the result is a static table entry or null.
    let fmt = unsafe { ffi::av_find_input_format(name.as_ptr()) };
    if fmt.is_null() {
        return Err(Error::DemuxerNotFound);
    }
    Ok(fmt)
}

/// Opens `url` for reading with `interrupt` polled during every blocking step.
///
/// `format` forces a demuxer or input device (skipping format probing); `find_stream_info`
/// probes the streams (files and devices want it; live RTMP does not: the FLV demuxer creates
/// streams as their first packets arrive, with the codec configuration already attached).
pub(crate) fn open_input<F>(
    url: &str,
    format: Option<&str>,
    options: Dictionary,
    interrupt: F,
    find_stream_info: bool,
) -> Result<Input, Error>
where
    F: FnMut() -> bool + Send + 'static,
{
    let url = cstring(url)?;
    let fmt = match format {
        Some(name) => find_input_format(name)?,
        None => ptr::null(),
    };
    let cb = interrupt::new(Box::new(interrupt));
    // SAFETY: `ps` is a fresh context; the interrupt's opaque pointer stays valid because its
    // guard is moved into the returned `Input` (or dropped only after FFmpeg freed `ps` on
    // failure). Dictionary ownership goes to FFmpeg and comes back with `own`.
    unsafe {
        let mut ps = ffi::avformat_alloc_context();
        if ps.is_null() {
            return Err(Error::Other { errno: ENOMEM });
        }
        (*ps).interrupt_callback = cb.interrupt;
        let mut opts = options.disown();
        let res = ffi::avformat_open_input(&mut ps, url.as_ptr(), fmt as _, &mut opts);
        Dictionary::own(opts);
        if res < 0 {
            // avformat_open_input freed `ps` already.
            return Err(Error::from(res));
        }
        if find_stream_info {
            let r = ffi::avformat_find_stream_info(ps, ptr::null_mut());
            if r < 0 {
                ffi::avformat_close_input(&mut ps);
                return Err(Error::from(r));
            }
        }
        Ok(Input::wrap_with_interrupt(ps, cb.guard))
    }
}

/// POSIX ENOMEM (the same number on Linux, macOS and the Windows CRT).
const ENOMEM: i32 = 12;

/// An output context whose interrupt callback lives exactly as long as it does.
pub(crate) struct InterruptibleOutput {
    // Declared first so it is dropped (and the context closed) before the callback is freed.
    output: Output,
    _guard: InterruptGuard,
}

impl Deref for InterruptibleOutput {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.output
    }
}

impl DerefMut for InterruptibleOutput {
    fn deref_mut(&mut self) -> &mut Output {
        &mut self.output
    }
}

/// Opens `url` for writing as `format` with `interrupt` polled during connect and every write.
pub(crate) fn open_output<F>(
    url: &str,
    format: &str,
    options: Dictionary,
    interrupt: F,
) -> Result<InterruptibleOutput, Error>
where
    F: FnMut() -> bool + Send + 'static,
{
    let url = cstring(url)?;
    let format = cstring(format)?;
    let cb = interrupt::new(Box::new(interrupt));
    // SAFETY: mirrors ffmpeg-next's `output_as_with`, plus the interrupt callback handed to
    // avio_open2; on failure the half-built context is freed here, on success `Output` owns it
    // and the guard outlives it (field order of `InterruptibleOutput`).
    unsafe {
        let mut ps = ptr::null_mut();
        let r = ffi::avformat_alloc_output_context2(
            &mut ps,
            ptr::null_mut(),
            format.as_ptr(),
            url.as_ptr(),
        );
        if r < 0 || ps.is_null() {
            return Err(Error::from(r));
        }
        (*ps).interrupt_callback = cb.interrupt;
        let mut opts = options.disown();
        let r = ffi::avio_open2(
            &mut (*ps).pb,
            url.as_ptr(),
            ffi::AVIO_FLAG_WRITE,
            &(*ps).interrupt_callback,
            &mut opts,
        );
        Dictionary::own(opts);
        if r < 0 {
            ffi::avformat_free_context(ps);
            return Err(Error::from(r));
        }
        Ok(InterruptibleOutput {
            output: Output::wrap(ps),
            _guard: cb.guard,
        })
    }
}

/// One capture device as an FFmpeg input device lists it: (name to open, human description).
/// Not on macOS, where avfoundation lists nothing this way and AVFoundation itself is asked.
#[cfg(not(target_os = "macos"))]
pub(crate) fn list_input_sources(format: &str) -> Result<Vec<(String, String)>, Error> {
    let fmt = find_input_format(format)?;
    // SAFETY: `list` is allocated by FFmpeg and freed here on every path; strings are copied out
    // before the free.
    unsafe {
        let mut list: *mut ffi::AVDeviceInfoList = ptr::null_mut();
        let r = ffi::avdevice_list_input_sources(fmt as _, ptr::null(), ptr::null_mut(), &mut list);
        if r < 0 {
            ffi::avdevice_free_list_devices(&mut list);
            return Err(Error::from(r));
        }
        let mut out = Vec::new();
        if !list.is_null() {
            let n = usize::try_from((*list).nb_devices).unwrap_or(0);
            for i in 0..n {
                let dev = *(*list).devices.add(i);
                if dev.is_null() {
                    continue;
                }
                let text = |p: *const std::os::raw::c_char| {
                    if p.is_null() {
                        String::new()
                    } else {
                        std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
                    }
                };
                out.push((text((*dev).device_name), text((*dev).device_description)));
            }
        }
        ffi::avdevice_free_list_devices(&mut list);
        Ok(out)
    }
}

/// A copy of a codec context's extradata (SPS/PPS as avcC for H.264, AudioSpecificConfig for AAC).
pub(crate) fn extradata(ctx: &codec::Context) -> Vec<u8> {
    // SAFETY: FFmpeg keeps `extradata_size` bytes at `extradata` (or null) for the context's life.
    unsafe {
        let p = ctx.as_ptr();
        let size = usize::try_from((*p).extradata_size).unwrap_or(0);
        if (*p).extradata.is_null() || size == 0 {
            return Vec::new();
        }
        std::slice::from_raw_parts((*p).extradata, size).to_vec()
    }
}

/// A new reference to `frame`'s buffers and properties, no samples copied. ffmpeg-next's
/// `clone` allocates by the channel layout and has no buffers for a frame whose layout is
/// unset (a WAV without a channel mask decodes so): FFmpeg then read from nowhere.
pub(crate) fn audio_ref(
    frame: &ffmpeg_next::frame::Audio,
) -> Result<ffmpeg_next::frame::Audio, Error> {
    let mut out = ffmpeg_next::frame::Audio::empty();
    // SAFETY: both frames are valid; av_frame_ref takes new references on the source's buffers.
    match unsafe { ffi::av_frame_ref(out.as_mut_ptr(), frame.as_ptr()) } {
        0 => Ok(out),
        e => Err(Error::from(e)),
    }
}

/// Sets an encoder's VBV buffer size in bits; libx264 compares it with its own before every frame
/// and reconfigures x264 when they differ, so it applies to the next frame of an open encoder.
pub(crate) fn set_rc_buffer_size(ctx: &mut codec::Context, bits: i32) {
    // SAFETY: a plain field of a context this thread owns; the encoder reads it only inside
    // avcodec_send_frame, which takes the same `&mut`.
    unsafe { (*ctx.as_mut_ptr()).rc_buffer_size = bits };
}

/// The leading fields every FFmpeg `URLContext` has had since FFmpeg 1.0 (`libavformat/url.h`).
#[cfg(target_os = "linux")]
#[repr(C)]
struct UrlContextHead {
    av_class: *const ffi::AVClass,
    prot: *const std::ffi::c_void,
    priv_data: *mut std::ffi::c_void,
}

/// The leading fields of the RTMP protocol's context (`libavformat/rtmpproto.c`).
#[cfg(target_os = "linux")]
#[repr(C)]
struct RtmpContextHead {
    class: *const ffi::AVClass,
    stream: *mut UrlContextHead,
}

/// The leading fields of the TCP protocol's context (`libavformat/tcp.c`).
#[cfg(target_os = "linux")]
#[repr(C)]
struct TcpContextHead {
    class: *const ffi::AVClass,
    fd: std::os::raw::c_int,
}

/// The class name an FFmpeg object (whose first field is its `AVClass`) declares.
///
/// # Safety
/// `obj` is null or points to an object whose first field is a `const AVClass *`.
#[cfg(target_os = "linux")]
unsafe fn class_name(obj: *const std::ffi::c_void) -> Option<&'static std::ffi::CStr> {
    if obj.is_null() {
        return None;
    }
    // SAFETY: per the contract; AVClass is public API and its names are static strings.
    unsafe {
        let class = *(obj as *const *const ffi::AVClass);
        if class.is_null() || (*class).class_name.is_null() {
            return None;
        }
        Some(std::ffi::CStr::from_ptr((*class).class_name))
    }
}

/// The TCP socket under an `rtmp://` output, or `None` for anything else (`rtmps://`, another
/// protocol, or an FFmpeg whose internals differ). The private layouts are only followed after
/// each object's public `AVClass` names it as expected, and the descriptor must be a socket.
#[cfg(target_os = "linux")]
pub(crate) fn rtmp_socket(output: &Output) -> Option<std::os::raw::c_int> {
    // SAFETY: `pb` belongs to the open output. Each pointer is checked for null and its class
    // name before the struct it leads is read: avio_open2 makes `pb->opaque` a URLContext
    // ("URLContext"), whose `priv_data` is the protocol's context ("rtmp"), whose `stream` is
    // the URLContext of its TCP connection with a "tcp" context holding the descriptor.
    unsafe {
        let pb = (*output.as_ptr()).pb;
        if pb.is_null() {
            return None;
        }
        let url = (*pb).opaque as *const UrlContextHead;
        if class_name(url.cast())? != c"URLContext" {
            return None;
        }
        let rtmp = (*url).priv_data as *const RtmpContextHead;
        if class_name(rtmp.cast())? != c"rtmp" {
            return None;
        }
        let tcp_url = (*rtmp).stream as *const UrlContextHead;
        if class_name(tcp_url.cast())? != c"URLContext" {
            return None;
        }
        let tcp = (*tcp_url).priv_data as *const TcpContextHead;
        if class_name(tcp.cast())? != c"tcp" {
            return None;
        }
        let fd = (*tcp).fd;
        let mut kind: std::os::raw::c_int = 0;
        let mut len = std::mem::size_of_val(&kind) as libc::socklen_t;
        let r = libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut kind as *mut std::os::raw::c_int).cast(),
            &mut len,
        );
        (r == 0 && kind == libc::SOCK_STREAM).then_some(fd)
    }
}

/// Bytes a TCP socket holds that the peer has not acknowledged (sent or not), from `SIOCOUTQ`.
#[cfg(target_os = "linux")]
pub(crate) fn unsent_bytes(fd: std::os::raw::c_int) -> Option<u64> {
    let mut n: std::os::raw::c_int = 0;
    // SAFETY: SIOCOUTQ (= TIOCOUTQ) writes one int; `fd` is a socket the output still owns.
    let r = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n) };
    (r == 0).then(|| u64::try_from(n).unwrap_or(0))
}

/// The least round trip a TCP socket has seen, from `TCP_INFO`'s `tcpi_min_rtt` (Linux 4.9+;
/// an older kernel leaves it zero, read as unknown).
#[cfg(target_os = "linux")]
pub(crate) fn min_rtt(fd: std::os::raw::c_int) -> Option<std::time::Duration> {
    // SAFETY: tcp_info is plain integers, for which all zeroes is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: TCP_INFO writes at most `len` bytes into `info`; `fd` is a socket the output
    // still owns.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    (r == 0 && info.tcpi_min_rtt > 0 && info.tcpi_min_rtt != u32::MAX)
        .then(|| std::time::Duration::from_micros(u64::from(info.tcpi_min_rtt)))
}

/// Attaches `extradata` to `packet` as `AV_PKT_DATA_NEW_EXTRADATA`, which FFmpeg's FLV muxer
/// sends as a new sequence header before the packet. False when FFmpeg could not allocate it.
pub(crate) fn attach_new_extradata(packet: &mut ffmpeg_next::Packet, extradata: &[u8]) -> bool {
    let size = extradata.len();
    // SAFETY: av_packet_new_side_data returns `size` writable bytes owned by the packet (or
    // null), and `extradata` is exactly `size` bytes long.
    unsafe {
        let data = ffmpeg_next::ffi::av_packet_new_side_data(
            ffmpeg_next::packet::Mut::as_mut_ptr(packet),
            ffmpeg_next::ffi::AVPacketSideDataType::AV_PKT_DATA_NEW_EXTRADATA,
            size,
        );
        if data.is_null() {
            return false;
        }
        std::ptr::copy_nonoverlapping(extradata.as_ptr(), data, size);
    }
    true
}

/// A scaling context that may move to another thread.
pub(crate) struct SendableScaler(pub(crate) ffmpeg_next::software::scaling::Context);

// SAFETY: an SwsContext has no thread affinity; ffmpeg-next only leaves it !Send because it
// holds a raw pointer. It is owned here and used through `&mut`, so one thread at a time.
unsafe impl Send for SendableScaler {}

/// AVFoundation's camera authorization, which FFmpeg's avfoundation device never consults.
#[cfg(target_os = "macos")]
pub(crate) mod camera_authorization {
    use objc2::runtime::Bool;
    use objc2_av_foundation::{AVCaptureDevice, AVMediaTypeVideo};
    use std::sync::mpsc;
    use std::time::Duration;

    /// `AVAuthorizationStatus` for video capture (0 when the framework lacks the constant).
    pub(crate) fn status() -> isize {
        // SAFETY: AVMediaTypeVideo is an immutable framework constant, and video is one of the
        // two media types this class method accepts (others raise).
        unsafe {
            match AVMediaTypeVideo {
                Some(video) => AVCaptureDevice::authorizationStatusForMediaType(video).0,
                None => 0,
            }
        }
    }

    /// The names of the cameras AVFoundation offers, in its own order (the order FFmpeg's
    /// avfoundation numbers them in); empty when the framework lacks the media type.
    pub(crate) fn cameras() -> Vec<String> {
        // SAFETY: as in `status`.
        let Some(video) = (unsafe { AVMediaTypeVideo }) else {
            return Vec::new();
        };
        // SAFETY: video is a valid media type; the returned array and its devices are retained
        // for as long as they are read. The discovery session that replaces this call needs the
        // device types listed one by one, which would leave out any a newer macOS adds.
        #[allow(deprecated)]
        let devices = unsafe { AVCaptureDevice::devicesWithMediaType(video) };
        devices
            .to_vec()
            .iter()
            // SAFETY: a plain property read of a retained device.
            .map(|d| unsafe { d.localizedName() }.to_string())
            .collect()
    }

    /// Shows the system's camera prompt (only while undecided) and waits at most `timeout` for
    /// the answer; `None` when none came.
    pub(crate) fn request(timeout: Duration) -> Option<bool> {
        // SAFETY: as in `status`.
        let video = unsafe { AVMediaTypeVideo }?;
        let (answer, answered) = mpsc::sync_channel(1);
        // AVFoundation copies the block and calls it once, on a queue of its own.
        let handler = block2::RcBlock::new(move |granted: Bool| {
            let _ = answer.try_send(granted.as_bool());
        });
        // SAFETY: video is a valid media type (see `status`); the block lives as long as
        // AVFoundation's copy of it needs, and only sends on a channel.
        unsafe { AVCaptureDevice::requestAccessForMediaType_completionHandler(video, &handler) };
        answered.recv_timeout(timeout).ok()
    }
}
