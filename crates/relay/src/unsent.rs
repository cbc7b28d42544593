//! How many bytes the kernel still holds unsent on a TCP socket.
//!
//! Neither the send buffer size nor `TCP_NOTSENT_LOWAT` bounds it: the kernel keeps appending
//! to the last segment it has not sent, up to the segmentation offload size (measured on a veth
//! behind a 300 kbit/s `tbf`: 45–80 KB unsent, over 2 s of that link, whatever either is set
//! to). So the relay reads the figure itself (`SIOCOUTQNSD`) and counts it in a player's budget.

use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::AsFd;

/// Bytes written to `socket` that the kernel has not sent yet.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(crate) fn unsent_bytes(socket: impl AsFd) -> io::Result<usize> {
    /// `SIOCOUTQNSD` (linux/sockios.h): bytes in the send queue not yet sent.
    const SIOCOUTQNSD: rustix::ioctl::Opcode = 0x894B;
    // SAFETY: SIOCOUTQNSD writes one C int through the pointer it is given, and `Getter` hands
    // it exactly that.
    let n = unsafe {
        rustix::ioctl::ioctl(
            socket,
            rustix::ioctl::Getter::<SIOCOUTQNSD, std::ffi::c_int>::new(),
        )
    }?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Elsewhere the figure is not offered; the budget then covers the queue and staged output.
#[cfg(not(target_os = "linux"))]
pub(crate) fn unsent_bytes<S>(_socket: S) -> io::Result<usize> {
    Ok(0)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn unsent_bytes_count_what_the_peer_cannot_take() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut tx = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut rx, _) = listener.accept().unwrap();
        assert_eq!(unsent_bytes(&tx).unwrap(), 0);
        // The receiver reads nothing: once its window is full the rest stays unsent.
        tx.set_nonblocking(true).unwrap();
        let chunk = [7u8; 64 * 1024];
        let mut written = 0;
        while let Ok(n) = tx.write(&chunk) {
            written += n;
        }
        let unsent = unsent_bytes(&tx).unwrap();
        assert!(unsent > 0 && unsent <= written, "{unsent} of {written}");
        // Draining the receiver lets it all go.
        let mut buf = vec![0u8; written];
        rx.read_exact(&mut buf).unwrap();
        assert_eq!(unsent_bytes(&tx).unwrap(), 0);
    }
}
