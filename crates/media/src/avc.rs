//! H.264 from the Annex B form x264 writes (start codes) into the form FLV and WebCodecs' `avc`
//! format carry: NAL units prefixed by their 4-byte length, and the parameter sets in an avcC
//! record (ISO/IEC 14496-15, 5.3.3.1).

/// NAL unit type of a sequence parameter set.
const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
const NAL_PPS: u8 = 8;
/// Bytes of an SPS before its profile, compatibility and level bytes end: header, then those three.
const SPS_MIN_LEN: usize = 4;
/// avcC `lengthSizeMinusOne` with its six reserved bits set: 4-byte lengths.
const LENGTH_SIZE_FOUR: u8 = 0xFF;
/// avcC's three reserved bits above the SPS count.
const SPS_COUNT_RESERVED: u8 = 0xE0;

/// Why parameter sets make no avcC record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvcError {
    /// No sequence parameter set, or one too short to name a profile.
    #[error("no usable sequence parameter set")]
    NoSps,
    /// No picture parameter set.
    #[error("no picture parameter set")]
    NoPps,
    /// A parameter set longer than its 16-bit length field.
    #[error("a parameter set of {0} bytes is too long for avcC")]
    TooLong(usize),
}

/// The NAL units of an Annex B stream, start codes removed (empty ones skipped).
pub fn nal_units(annex_b: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= annex_b.len() {
        if annex_b[i] == 0 && annex_b[i + 1] == 0 && annex_b[i + 2] == 1 {
            starts.push((i, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|&(code, _)| code)
        .chain(std::iter::once(annex_b.len()))
        .collect();
    starts
        .into_iter()
        .zip(ends)
        .map(move |((_, from), to)| trim_zeros(&annex_b[from..to]))
        .filter(|nal| !nal.is_empty())
}

/// A NAL unit without the zero bytes that belong to the next start code (its 4-byte form).
fn trim_zeros(nal: &[u8]) -> &[u8] {
    let end = nal.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &nal[..end]
}

/// An Annex B access unit as 4-byte-length-prefixed NAL units.
pub fn length_prefixed(annex_b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(annex_b.len() + 8);
    for nal in nal_units(annex_b) {
        let len = u32::try_from(nal.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(nal);
    }
    out
}

/// The avcC record for the first SPS and every PPS in `annex_b` (an encoder's extradata).
pub fn avcc_record(annex_b: &[u8]) -> Result<Vec<u8>, AvcError> {
    let kind = |nal: &[u8]| nal[0] & 0x1F;
    let sps = nal_units(annex_b)
        .find(|nal| kind(nal) == NAL_SPS)
        .filter(|sps| sps.len() >= SPS_MIN_LEN)
        .ok_or(AvcError::NoSps)?;
    let pps: Vec<&[u8]> = nal_units(annex_b)
        .filter(|nal| kind(nal) == NAL_PPS)
        .collect();
    if pps.is_empty() {
        return Err(AvcError::NoPps);
    }
    let mut out = vec![
        1,
        sps[1],
        sps[2],
        sps[3],
        LENGTH_SIZE_FOUR,
        SPS_COUNT_RESERVED | 1,
    ];
    push_set(&mut out, sps)?;
    out.push(u8::try_from(pps.len()).map_err(|_| AvcError::TooLong(pps.len()))?);
    for p in pps {
        push_set(&mut out, p)?;
    }
    Ok(out)
}

fn push_set(out: &mut Vec<u8>, set: &[u8]) -> Result<(), AvcError> {
    let len = u16::try_from(set.len()).map_err(|_| AvcError::TooLong(set.len()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(set);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPS: &[u8] = &[0x67, 0x42, 0xC0, 0x1E, 0xAB, 0xCD];
    const PPS: &[u8] = &[0x68, 0xCE, 0x3C, 0x80];

    fn annex_b(units: &[&[u8]], four_byte: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for u in units {
            if four_byte {
                out.push(0);
            }
            out.extend_from_slice(&[0, 0, 1]);
            out.extend_from_slice(u);
        }
        out
    }

    #[test]
    fn start_codes_of_both_lengths_become_lengths() {
        let slice: &[u8] = &[0x65, 0x88, 0x84, 0x00, 0x21];
        for four in [false, true] {
            let out = length_prefixed(&annex_b(&[SPS, slice], four));
            let mut want = vec![0, 0, 0, 6];
            want.extend_from_slice(SPS);
            want.extend_from_slice(&[0, 0, 0, 5]);
            want.extend_from_slice(slice);
            assert_eq!(out, want, "four-byte start codes: {four}");
        }
    }

    #[test]
    fn the_record_names_the_profile_and_carries_both_sets() {
        let record = avcc_record(&annex_b(&[SPS, PPS], true)).unwrap();
        let mut want = vec![1, 0x42, 0xC0, 0x1E, 0xFF, 0xE1, 0, 6];
        want.extend_from_slice(SPS);
        want.extend_from_slice(&[1, 0, 4]);
        want.extend_from_slice(PPS);
        assert_eq!(record, want);
    }

    #[test]
    fn missing_or_short_sets_are_refused() {
        assert_eq!(avcc_record(&annex_b(&[PPS], true)), Err(AvcError::NoSps));
        assert_eq!(avcc_record(&annex_b(&[SPS], true)), Err(AvcError::NoPps));
        assert_eq!(
            avcc_record(&annex_b(&[&[0x67, 0x42], PPS], true)),
            Err(AvcError::NoSps)
        );
        assert_eq!(avcc_record(&[]), Err(AvcError::NoSps));
        assert_eq!(length_prefixed(&[0, 0, 0, 0]), Vec::<u8>::new());
    }
}
