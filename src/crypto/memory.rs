//! argon2's working memory — `m_cost` KiB per hash, 19 MiB at OWASP's parameters — allocated
//! once and reused, and bounded: at most [`bound_concurrent_hashes`] hashes hold memory at once.
//!
//! argon2's own entry points allocate (and zero) the whole block array for every hash and free
//! it after. In a long-running process that costs a 19 MiB zeroing per hash, and glibc, seeing
//! large blocks freed, raises its mmap threshold and keeps them in per-thread arenas, so the
//! server's resident memory grew to several times workers × `m_cost`. Here each array lives in
//! a process-wide pool instead: a hash takes one (or makes one, within the bound), and gives it
//! back. A process that never sets a bound (one-shot, prompt, kiosk) gets one array per hash
//! running at the same time — one, in practice. The server sets the bound to its hashing
//! workers, so its argon2 memory is exactly workers × `m_cost`, however many threads ask.
//!
//! What an array holds after a hash is argon2's last pass over the code's hash state: enough to
//! recompute the stored hash, nothing more (the code needs the pepper and a search to recover,
//! as with the hash in the database). It is overwritten by the next hash and is not written
//! anywhere; core dumps are off (`crypto::forbid_core_dumps`).

use std::sync::{Condvar, Mutex, MutexGuard};

use argon2::Block;

/// The arrays not in use, how many are out (and their bytes), and the bound (0: none).
struct State {
    idle: Vec<Vec<Block>>,
    out: usize,
    out_bytes: usize,
    limit: usize,
}

struct MemoryPool {
    state: Mutex<State>,
    returned: Condvar,
}

static POOL: MemoryPool = MemoryPool {
    state: Mutex::new(State {
        idle: Vec::new(),
        out: 0,
        out_bytes: 0,
        limit: 0,
    }),
    returned: Condvar::new(),
};

/// argon2 hashes this process has started (real and decoy alike): `/metrics` shows it, so a
/// test can count that every kind of refused check costs the same number of hashes.
static HASHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// argon2 hashes this process has started.
pub fn hashes() -> u64 {
    HASHES.load(std::sync::atomic::Ordering::Relaxed)
}

fn lock() -> MutexGuard<'static, State> {
    // A panic while the lock is held cannot leave `State` inconsistent (each update is one
    // field), so a poisoned lock is used as it is.
    POOL.state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Lets at most `n` argon2 hashes hold memory at once in this process (at least 1); a hash
/// beyond that waits for one to finish. Arrays kept beyond a lowered bound are freed.
pub fn bound_concurrent_hashes(n: usize) {
    let mut s = lock();
    s.limit = n.max(1);
    let keep = s.limit.saturating_sub(s.out);
    s.idle.truncate(keep);
}

/// The argon2 arrays this process holds, in use or idle, and their total size in bytes.
pub fn held() -> (usize, usize) {
    let s = lock();
    let idle: usize = s.idle.iter().map(bytes).sum();
    (s.out + s.idle.len(), idle + s.out_bytes)
}

fn bytes(v: &Vec<Block>) -> usize {
    v.capacity() * Block::SIZE
}

/// An array taken from the pool, given back when dropped (also on a panic).
struct Lease(Option<Vec<Block>>);

impl Drop for Lease {
    fn drop(&mut self) {
        let mut s = lock();
        s.out -= 1;
        s.out_bytes -= self.0.as_ref().map_or(0, bytes);
        if let Some(v) = self.0.take()
            && (s.limit == 0 || s.idle.len() + s.out < s.limit)
        {
            s.idle.push(v);
        }
        drop(s);
        POOL.returned.notify_one();
    }
}

/// Runs `f` with at least `blocks` blocks of argon2 memory, waiting while the bound is reached.
/// `None` when the memory cannot be allocated.
pub(super) fn with_blocks<R>(blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> Option<R> {
    HASHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut s = lock();
    while s.limit != 0 && s.out >= s.limit {
        s = POOL.returned.wait(s).unwrap_or_else(|p| p.into_inner());
    }
    s.out += 1;
    // The largest idle array first: a process hashing with one set of parameters never grows one.
    let best = (0..s.idle.len()).max_by_key(|&i| s.idle[i].len());
    let taken = best.map(|i| s.idle.swap_remove(i)).unwrap_or_default();
    s.out_bytes += bytes(&taken);
    drop(s);
    let mut lease = Lease(Some(taken));
    let v = lease.0.as_mut()?;
    if v.len() < blocks {
        let before = bytes(v);
        let grown = grow(v, blocks);
        lock().out_bytes += bytes(v) - before;
        grown?;
    }
    Some(f(&mut v[..blocks]))
}

/// Grows `v` to `blocks` blocks, asking for huge pages before the new memory is first touched.
fn grow(v: &mut Vec<Block>, blocks: usize) -> Option<()> {
    v.try_reserve_exact(blocks - v.len()).ok()?;
    crate::hugepages::advise(v.spare_capacity_mut());
    v.resize(blocks, Block::default());
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the pool is process-wide, and other unit tests hash in parallel, so this only
    // asserts what holds whatever they do.
    #[test]
    fn arrays_are_sized_reused_and_given_back_after_a_panic() {
        let seen = with_blocks(64, |b| {
            assert_eq!(b.len(), 64);
            b.as_ptr() as usize
        })
        .unwrap();
        assert_ne!(seen, 0);
        let smaller = with_blocks(8, |b| b.len()).unwrap();
        assert_eq!(smaller, 8);
        let r = std::panic::catch_unwind(|| with_blocks(8, |_| panic!("inside a hash")));
        assert!(r.is_err());
        // The panicking lease came back: the pool still hands out memory.
        assert_eq!(with_blocks(16, |b| b.len()), Some(16));
    }
}
