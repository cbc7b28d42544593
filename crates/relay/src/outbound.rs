//! Bytes waiting to be written to one connection, as a list of shared buffers so relayed media
//! goes out with vectored writes and is never copied per player.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes};

/// Most buffers handed to one vectored write.
pub(crate) const MAX_WRITE_SLICES: usize = 64;

/// The queue of outgoing buffers.
#[derive(Debug, Default)]
pub(crate) struct Outbound {
    bufs: VecDeque<Bytes>,
    len: usize,
}

impl Outbound {
    /// Appends a shared buffer.
    pub fn push(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.len += bytes.len();
            self.bufs.push_back(bytes);
        }
    }

    /// Appends an owned buffer.
    pub fn push_vec(&mut self, bytes: Vec<u8>) {
        self.push(Bytes::from(bytes));
    }

    /// Bytes waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `slices` with the first waiting buffers; returns how many.
    pub fn slices<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, buf) in slices.iter_mut().zip(&self.bufs) {
            *slot = IoSlice::new(buf);
            n += 1;
        }
        n
    }

    /// Forgets the first `n` bytes (they were written).
    pub fn advance(&mut self, mut n: usize) {
        self.len -= n.min(self.len);
        while n > 0 {
            let Some(front) = self.bufs.front_mut() else {
                return;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.bufs.pop_front();
        }
    }

    /// Takes everything as one buffer.
    pub fn take_all(&mut self) -> Vec<u8> {
        let mut all = Vec::with_capacity(self.len);
        for buf in self.bufs.drain(..) {
            all.extend_from_slice(&buf);
        }
        self.len = 0;
        all
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.bufs.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_writes_resume_where_they_stopped() {
        let mut out = Outbound::default();
        out.push(Bytes::from_static(b"abc"));
        out.push(Bytes::new());
        out.push_vec(b"defgh".to_vec());
        assert_eq!(out.len(), 8);
        {
            let mut slices = [IoSlice::new(&[]); MAX_WRITE_SLICES];
            assert_eq!(out.slices(&mut slices), 2);
        }
        out.advance(4);
        assert_eq!(out.len(), 4);
        {
            let mut slices = [IoSlice::new(&[]); MAX_WRITE_SLICES];
            let n = out.slices(&mut slices);
            assert_eq!(n, 1);
            assert_eq!(&*slices[0], b"efgh");
        }
        out.advance(4);
        assert!(out.is_empty());
        out.push(Bytes::from_static(b"xy"));
        assert_eq!(out.take_all(), b"xy");
        assert!(out.is_empty());
    }
}
