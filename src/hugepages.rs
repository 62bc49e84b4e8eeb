//! Transparent huge pages for argon2's memory (the m_cost block array, 19 MiB at the OWASP
//! parameters, see `crypto::memory`). Fresh memory otherwise takes one page fault per 4 KiB
//! (~4,900 at 19 MiB), which profiling showed as a quarter of a one-shot `verify`'s CPU time
//! (BENCHMARKS.md); with 2 MiB pages it takes about ten. Only a hint: where the kernel has THP
//! disabled, or no huge page is free, nothing changes.
//!
//! The one module allowed unsafe code (the crate denies it): `madvise` takes a raw address
//! range. The function here is safe to call: it only advises about memory the caller holds
//! mutably and has not yet initialised.

#![allow(unsafe_code)]

use std::mem::MaybeUninit;

/// Transparent huge pages on x86-64 and aarch64 with 4 KiB base pages.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// Asks for huge pages over the 2 MiB-aligned part of `spare` — typically a `Vec`'s spare
/// capacity, before it is first written. Errors are ignored: the advice is an optimisation,
/// and the memory is valid either way.
#[cfg(target_os = "linux")]
pub fn advise<T>(spare: &mut [MaybeUninit<T>]) {
    let base = spare.as_mut_ptr().cast::<u8>();
    let p = base as usize;
    let start = p.next_multiple_of(HUGE_PAGE);
    let end = (p + std::mem::size_of_val(spare)) / HUGE_PAGE * HUGE_PAGE;
    if end > start {
        // SAFETY: `[start, end)` lies inside `spare`, which the caller holds exclusively;
        // MADV_HUGEPAGE changes neither the contents nor the validity of the range.
        let _ = unsafe {
            rustix::mm::madvise(
                base.wrapping_add(start - p).cast(),
                end - start,
                rustix::mm::Advice::LinuxHugepage,
            )
        };
    }
}

#[cfg(not(target_os = "linux"))]
pub fn advise<T>(_spare: &mut [MaybeUninit<T>]) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advised_memory_stays_usable_whatever_its_size() {
        for size in [0usize, 1, 4096, 4 << 20, (20 << 20) + 12_345] {
            let mut v: Vec<u64> = Vec::with_capacity(size);
            advise(v.spare_capacity_mut());
            v.resize(size, 0xA5A5);
            assert!(v.iter().all(|&x| x == 0xA5A5), "{size}");
        }
    }
}
