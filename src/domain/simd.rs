//! The one module allowed `unsafe`: SSE2 intrinsics that classify 16 bytes of a
//! ledger line at once (which are `"`, which are `\\` or control bytes) for the line
//! scanner in `domain::ledger`. No crate offers "bitmask of these bytes"; `memchr`
//! finds one byte at a time. Other targets use the portable SWAR version, which the
//! tests check against this one for every byte at every position.
#![allow(unsafe_code)]

/// One bit per `"` among 16 bytes, and whether any of them is `\\` or below 0x20.
/// SSE2 on x86-64 (a sixth less parse time than the SWAR version, which other targets
/// use and which is tested against this one; docs/PERF.md). Written with intrinsics
/// because no crate offers "bitmask of these bytes"; `memchr` finds one at a time.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn classify16(chunk: &[u8; 16]) -> (u16, bool) {
    // SAFETY: SSE2 is part of the x86-64 baseline, so every x86-64 CPU has it.
    unsafe { classify16_sse2(chunk) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn classify16_sse2(chunk: &[u8; 16]) -> (u16, bool) {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: `chunk` is 16 readable bytes; `loadu` has no alignment requirement.
    let v = unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) };
    let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
    let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
    // max(v, 0x1f) == 0x1f exactly for the bytes 0x00..=0x1f (unsigned).
    let low = _mm_set1_epi8(0x1f);
    let control = _mm_cmpeq_epi8(_mm_max_epu8(v, low), low);
    let special = _mm_movemask_epi8(_mm_or_si128(backslash, control));
    // The low 16 bits hold one bit per byte.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let quotes = _mm_movemask_epi8(quote) as u16;
    (quotes, special != 0)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn classify16(chunk: &[u8; 16]) -> (u16, bool) {
    classify16_swar(chunk)
}

/// [`classify16`] eight bytes at a time in plain integer arithmetic. The per-byte tests
/// are exact (no borrow crosses bytes), unlike the usual "has zero byte" trick.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub(crate) fn classify16_swar(chunk: &[u8; 16]) -> (u16, bool) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // High bit of each byte that is zero.
    let zero = |t: u64| !(((t & LOW7) + LOW7) | t) & HIGH;
    // One bit per byte, in byte order: gathers the eight high bits into the top byte.
    let pack = |m: u64| ((m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u16;
    let mut quotes = 0u16;
    let mut special = 0u64;
    for (i, h) in chunk.as_chunks::<8>().0.iter().enumerate() {
        let x = u64::from_le_bytes(*h);
        quotes |= pack(zero(x ^ (ONES * u64::from(b'"')))) << (8 * i);
        let control = !(((x & LOW7) + ONES * 0x60) | x) & HIGH;
        special |= zero(x ^ (ONES * u64::from(b'\\'))) | control;
    }
    (quotes, special != 0)
}
