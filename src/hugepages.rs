//! The process's allocator: the system allocator, except that a large zeroed allocation (in
//! practice argon2's m_cost block array, 19 MiB at the OWASP parameters) asks the kernel for
//! transparent huge pages. A fresh one-shot process otherwise takes one page fault per 4 KiB of
//! that array (~4,900 at 19 MiB), which profiling showed as a quarter of a one-shot `verify`'s
//! CPU time (BENCHMARKS.md); with 2 MiB pages it takes about ten. Only a hint: where the kernel
//! has THP disabled, or no huge page is free, nothing changes.
//!
//! The one module allowed unsafe code (the crate denies it): a `GlobalAlloc` is an unsafe trait
//! whose methods are unsafe to call, so implementing one cannot be done in safe Rust. Every
//! block forwards to `System` and says why it is sound.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations from this size on get the hint (smaller ones cannot contain an aligned huge page
/// worth having).
const HUGE_FROM: usize = 4 << 20;

/// The alignment malloc/calloc guarantee on 64-bit targets (what `System` relies on too).
const MALLOC_ALIGN: usize = 16;

/// Transparent huge pages on x86-64 and aarch64 with 4 KiB base pages.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// The system allocator with the huge-page hint for large zeroed allocations.
pub struct HugeZeroed;

// SAFETY: every method forwards to `System` with the caller's own arguments (a large zeroed
// block is `System.alloc` plus zeroing, which is what `System.alloc_zeroed` does for it too);
// the hint only advises the kernel about whole pages inside the block `System` just returned.
unsafe impl GlobalAlloc for HugeZeroed {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() < HUGE_FROM {
            // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
            return unsafe { System.alloc_zeroed(layout) };
        }
        if layout.align() <= MALLOC_ALIGN {
            // calloc: fresh pages come straight from the kernel, untouched, so the advice
            // still applies when they are first written.
            // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                advise_huge(p, layout.size());
            }
            return p;
        }
        // The advice must come before the first touch, and `System.alloc_zeroed` touches every
        // page when the alignment is above malloc's (argon2's blocks are 64-aligned): it
        // allocates, then writes the zeros itself. So: allocate, advise, then zero.
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            advise_huge(p, layout.size());
            // SAFETY: `p` is a fresh, writable block of `layout.size()` bytes.
            unsafe { std::ptr::write_bytes(p, 0, layout.size()) };
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System` via this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// `madvise(MADV_HUGEPAGE)` on the 2 MiB-aligned part of `[p, p + len)`. Errors are ignored:
/// the advice is an optimisation, and the memory is valid and zeroed either way.
#[cfg(target_os = "linux")]
fn advise_huge(p: *mut u8, len: usize) {
    let start = (p as usize).next_multiple_of(HUGE_PAGE);
    let end = (p as usize + len) / HUGE_PAGE * HUGE_PAGE;
    if end > start {
        // SAFETY: `[start, end)` lies inside the live allocation `[p, p + len)` just returned
        // by `System`; MADV_HUGEPAGE changes neither its contents nor its validity.
        let _ = unsafe {
            rustix::mm::madvise(
                p.add(start - p as usize).cast(),
                end - start,
                rustix::mm::Advice::LinuxHugepage,
            )
        };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_p: *mut u8, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_zeroed_blocks_are_zeroed_and_usable_and_small_ones_pass_through() {
        let sizes = [1usize, 4096, HUGE_FROM, HUGE_FROM * 5 + 12_345];
        for (size, align) in sizes.into_iter().flat_map(|s| [(s, 8), (s, 64)]) {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: non-zero size; the block is written within bounds and freed with the
            // same layout.
            unsafe {
                let p = HugeZeroed.alloc_zeroed(layout);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0, "{size} bytes misaligned");
                let block = std::slice::from_raw_parts_mut(p, size);
                assert!(block.iter().all(|b| *b == 0), "{size} bytes not zeroed");
                block.fill(0xA5);
                assert_eq!(block[size - 1], 0xA5);
                HugeZeroed.dealloc(p, layout);
            }
        }
    }
}
