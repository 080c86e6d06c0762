//! A request-scoped arena for the policy module's allocations.
//!
//! Evaluating one request makes about seventy small allocations (the parsed
//! object's maps and lists, defaults, warnings, the answer) and frees every
//! one of them before the next request. With the general-purpose allocator,
//! allocating, freeing and walking the parsed tree to free it cost about a
//! sixth of the mutate path. Inside a request scope, allocations are instead
//! carved from one reserved region by bumping a pointer, freeing them costs
//! a range check, and the next scope starts the region over.
//!
//! What keeps this sound:
//! - Where a block goes back to is decided by its address, never by the
//!   current scope: a block inside the region is never handed to the system
//!   allocator, and one outside it always is.
//! - Nothing allocated in a scope outlives it. The one thing the policy keeps
//!   between requests, the parsed settings, is built [`outside_request_scope`]
//!   ([`crate::settings::Settings::from_raw_cached`]). `clippy.toml` refuses
//!   lazily built statics (`LazyLock`, `OnceLock`, `OnceCell`,
//!   `thread_local!`), so a new one cannot be added without an `allow` saying
//!   why it is safe. The answer itself is
//!   copied out by waPC's `__guest_call` before the next request begins.
//! - A request larger than the region spills over to the system allocator,
//!   so a huge input costs memory, never a failure.
//!
//! The arena is the global allocator of the wasm module only, which is
//! single-threaded (`wasm32-wasip1` has no threads; the `Sync` claim below
//! relies on it, and `build.rs` refuses a threaded wasm build). Host builds (unit tests, the runner's drift check against
//! the module) use the system allocator; the arena's own logic is tested on
//! the host through a local instance.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

#[cfg(target_family = "wasm")]
#[global_allocator]
static ARENA: ScopedArena = ScopedArena::with_region(REGION_BYTES);

/// Room for the allocations of a typical request many times over (a bare
/// Deployment needs about 20 KiB); larger requests spill over.
#[cfg(target_family = "wasm")]
const REGION_BYTES: usize = 1 << 20;

/// Runs the evaluation of one request in the arena (on wasm; elsewhere
/// simply runs it).
pub(crate) fn request_scope<R>(evaluate: impl FnOnce() -> R) -> R {
    #[cfg(target_family = "wasm")]
    return ARENA.scope(evaluate);
    #[cfg(not(target_family = "wasm"))]
    evaluate()
}

/// Runs `keep` with its allocations outside the region, for values kept
/// between requests.
pub(crate) fn outside_request_scope<R>(keep: impl FnOnce() -> R) -> R {
    #[cfg(target_family = "wasm")]
    return ARENA.outside(keep);
    #[cfg(not(target_family = "wasm"))]
    keep()
}

/// Frees a value built during the current request that owns nothing from
/// before it. Where every block the request allocated is in the region,
/// walking the value to free it is skipped: the next scope reclaims the
/// region whole. Otherwise, and outside wasm, it is dropped as usual.
pub(crate) fn release<T>(value: T) {
    #[cfg(target_family = "wasm")]
    if ARENA.holds_everything_allocated_in_scope() {
        std::mem::forget(value);
        return;
    }
    drop(value);
}

// Only the wasm module installs the arena; host builds test it directly.
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
pub(crate) struct ScopedArena {
    region_bytes: usize,
    /// The reserved region, `[start, end)`, taken from the system allocator
    /// on first use and kept for the life of the instance.
    start: Cell<usize>,
    end: Cell<usize>,
    /// Where the next block starts.
    next: Cell<usize>,
    /// True while a request is evaluated.
    in_request: Cell<bool>,
    /// True while its allocations go to the region (not [`ScopedArena::outside`]).
    bumping: Cell<bool>,
    /// True once the current request has allocated from the system.
    spilled: Cell<bool>,
}

// SAFETY: the arena's cells are shared without locks, sound only where one
// thread runs the module: `wasm32-wasip1` has no threads, and `build.rs`
// refuses a threaded wasm build (`wasm32-wasip1-threads`, `+atomics`, which
// stable Rust does not expose to `cfg`). Claimed for wasm only, so that a
// host build cannot put an arena in a static: host tests keep theirs local.
#[cfg(target_family = "wasm")]
unsafe impl Sync for ScopedArena {}

#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
impl ScopedArena {
    pub(crate) const fn with_region(region_bytes: usize) -> ScopedArena {
        ScopedArena {
            region_bytes,
            start: Cell::new(0),
            end: Cell::new(0),
            next: Cell::new(0),
            in_request: Cell::new(false),
            bumping: Cell::new(false),
            spilled: Cell::new(false),
        }
    }

    fn owns(&self, block: *mut u8) -> bool {
        (self.start.get()..self.end.get()).contains(&(block as usize))
    }

    /// Runs `evaluate` with its allocations in the region, which starts over:
    /// whatever an earlier scope left there is dead by now.
    pub(crate) fn scope<R>(&self, evaluate: impl FnOnce() -> R) -> R {
        if self.in_request.get() {
            return evaluate();
        }
        if self.start.get() == 0 {
            self.reserve();
        }
        self.next.set(self.start.get());
        self.spilled.set(false);
        self.in_request.set(true);
        self.bumping.set(true);
        let result = evaluate();
        self.bumping.set(false);
        self.in_request.set(false);
        result
    }

    /// Runs `keep` with its allocations outside the region.
    pub(crate) fn outside<R>(&self, keep: impl FnOnce() -> R) -> R {
        let was_bumping = self.bumping.replace(false);
        let result = keep();
        self.bumping.set(was_bumping);
        result
    }

    pub(crate) fn holds_everything_allocated_in_scope(&self) -> bool {
        self.in_request.get() && !self.spilled.get()
    }

    fn reserve(&self) {
        let Ok(layout) = Layout::from_size_align(self.region_bytes, 16) else {
            return;
        };
        if layout.size() == 0 {
            return;
        }
        // SAFETY: the layout has a non-zero size. A null answer (no memory)
        // leaves the region empty, and every allocation goes to the system.
        let start = unsafe { System.alloc(layout) } as usize;
        if start != 0 {
            self.start.set(start);
            self.end.set(start + layout.size());
        }
    }

    /// A block from the region, or `None` when it does not fit.
    fn bump(&self, layout: Layout) -> Option<*mut u8> {
        let aligned = self.next.get().checked_next_multiple_of(layout.align())?;
        let end = aligned.checked_add(layout.size())?;
        (end <= self.end.get()).then(|| {
            self.next.set(end);
            aligned as *mut u8
        })
    }
}

impl Drop for ScopedArena {
    fn drop(&mut self) {
        if self.start.get() != 0
            && let Ok(layout) = Layout::from_size_align(self.region_bytes, 16)
        {
            // SAFETY: the region was allocated with this layout in `reserve`.
            unsafe { System.dealloc(self.start.get() as *mut u8, layout) }
        }
    }
}

// Not inlined: the module has hundreds of allocation sites, and a copy of
// the arena's code at each made it 25 KB larger (over the 400 KB budget)
// for about 2% less time.
//
// SAFETY: blocks from the region are disjoint (the bump pointer only moves
// forward within a scope, and a scope begins only when nothing from the
// previous one is alive) and aligned as asked; blocks from the system
// allocator go back to it and to nothing else.
unsafe impl GlobalAlloc for ScopedArena {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.bumping.get()
            && let Some(block) = self.bump(layout)
        {
            return block;
        }
        if self.in_request.get() {
            self.spilled.set(true);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if !self.owns(block) {
            // SAFETY: a block outside the region came from the system.
            unsafe { System.dealloc(block, layout) }
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.owns(block) {
            if self.in_request.get() {
                self.spilled.set(true);
            }
            // SAFETY: a block outside the region came from the system.
            return unsafe { System.realloc(block, layout, new_size) };
        }
        let start = block as usize;
        // The latest block grows or shrinks in place, any other block
        // shrinks in place.
        let is_latest = start + layout.size() == self.next.get();
        if self.bumping.get() && is_latest && start.checked_add(new_size).is_some_and(|end| end <= self.end.get()) {
            self.next.set(start + new_size);
            return block;
        }
        if new_size <= layout.size() {
            return block;
        }
        // SAFETY: the caller guarantees the new size is valid for the
        // alignment.
        let moved = unsafe { self.alloc(Layout::from_size_align_unchecked(new_size, layout.align())) };
        if !moved.is_null() {
            // SAFETY: both blocks are valid for the old size, and disjoint.
            unsafe { std::ptr::copy_nonoverlapping(block, moved, layout.size()) };
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn blocks_in_a_scope_are_aligned_disjoint_and_reused_by_the_next_scope() {
        let arena = ScopedArena::with_region(4096);
        let first_scope = arena.scope(|| {
            let blocks: Vec<(*mut u8, usize)> = [(3, 1), (8, 8), (1, 16), (24, 8), (5, 2)]
                .into_iter()
                .map(|(size, align)| (unsafe { arena.alloc(layout(size, align)) }, size))
                .collect();
            for (index, &(block, size)) in blocks.iter().enumerate() {
                assert!(arena.owns(block));
                assert_eq!(block as usize % [1, 8, 16, 8, 2][index], 0);
                // Writing each block whole must not touch the others.
                unsafe { std::ptr::write_bytes(block, index as u8 + 1, size) };
            }
            for (index, &(block, size)) in blocks.iter().enumerate() {
                let bytes = unsafe { std::slice::from_raw_parts(block, size) };
                assert!(bytes.iter().all(|&byte| byte == index as u8 + 1));
            }
            assert!(arena.holds_everything_allocated_in_scope());
            blocks[0].0
        });
        let second_scope = arena.scope(|| unsafe { arena.alloc(layout(3, 1)) });
        assert_eq!(first_scope, second_scope, "a new scope starts the region over");
    }

    #[test]
    fn what_does_not_fit_spills_to_the_system_and_is_freed_there() {
        let arena = ScopedArena::with_region(64);
        arena.scope(|| unsafe {
            let small = arena.alloc(layout(48, 8));
            assert!(arena.owns(small));
            let large = arena.alloc(layout(48, 8));
            assert!(!large.is_null() && !arena.owns(large));
            assert!(!arena.holds_everything_allocated_in_scope());
            arena.dealloc(large, layout(48, 8));
            arena.dealloc(small, layout(48, 8));
        });
        assert!(arena.scope(|| arena.holds_everything_allocated_in_scope()));
    }

    #[test]
    fn kept_values_and_allocations_between_scopes_come_from_the_system() {
        let arena = ScopedArena::with_region(1024);
        let between = unsafe { arena.alloc(layout(16, 8)) };
        assert!(!arena.owns(between));
        arena.scope(|| {
            let kept = arena.outside(|| unsafe { arena.alloc(layout(16, 8)) });
            assert!(!arena.owns(kept));
            assert!(!arena.holds_everything_allocated_in_scope());
            assert!(arena.owns(unsafe { arena.alloc(layout(16, 8)) }), "bumping resumes");
            unsafe { arena.dealloc(kept, layout(16, 8)) };
        });
        unsafe { arena.dealloc(between, layout(16, 8)) };
    }

    #[test]
    fn realloc_grows_the_latest_block_in_place_and_moves_others_with_their_bytes() {
        let arena = ScopedArena::with_region(1024);
        arena.scope(|| unsafe {
            let first = arena.alloc(layout(8, 8));
            std::ptr::copy_nonoverlapping(b"abcdefgh".as_ptr(), first, 8);
            let grown = arena.realloc(first, layout(8, 8), 32);
            assert_eq!(grown, first, "the latest block grows in place");
            let second = arena.alloc(layout(8, 8));
            let moved = arena.realloc(grown, layout(32, 8), 64);
            assert_ne!(moved, grown);
            assert!(arena.owns(moved) && moved != second);
            assert_eq!(std::slice::from_raw_parts(moved, 8), b"abcdefgh");
            assert_eq!(arena.realloc(second, layout(8, 8), 4), second, "shrinking stays put");
            let spilled = arena.realloc(moved, layout(64, 8), 4096);
            assert!(!arena.owns(spilled));
            assert_eq!(std::slice::from_raw_parts(spilled, 8), b"abcdefgh");
            arena.dealloc(spilled, layout(4096, 8));
        });
    }

    /// The module's request arena  takes back everything a
    /// request allocated when the next request starts, so a static that keeps
    /// a value built inside a request would be overwritten. Clippy refuses the
    /// lazily built kinds (`clippy.toml`); this catches any other static item
    /// (a `Mutex`, a `static mut`): each one in the module's source is on this
    /// list, reviewed, with the reason it is safe.
    #[test]
    fn every_static_of_the_module_is_reviewed_for_the_request_arena() {
        const REVIEWED: [(&str, &str, &str); 3] = [
            ("arena.rs", "ARENA", "the arena itself, allocation-free until reserved"),
            ("json.rs", "EMPTY", "an empty object, whose building allocates nothing"),
            (
                "settings.rs",
                "LAST",
                "the cached settings, built outside the request's arena",
            ),
        ];
        let mut found = Vec::new();
        let mut directories = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
        while let Some(directory) = directories.pop() {
            for entry in std::fs::read_dir(&directory).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    directories.push(path);
                    continue;
                }
                let file = path.file_name().unwrap().to_string_lossy().into_owned();
                for line in std::fs::read_to_string(&path).unwrap().lines() {
                    let code = line.split("//").next().unwrap_or_default();
                    let words: Vec<&str> = code.split_whitespace().collect();
                    for (at, _) in words.iter().enumerate().filter(|(_, word)| **word == "static") {
                        let name = words.get(at + 1).copied().unwrap_or_default();
                        found.push((file.clone(), name.trim_end_matches(':').to_string()));
                    }
                }
            }
        }
        found.sort();
        let mut reviewed: Vec<(String, String)> = REVIEWED
            .iter()
            .map(|(file, name, _)| (file.to_string(), name.to_string()))
            .collect();
        reviewed.sort();
        assert_eq!(
            found, reviewed,
            "an item kept across requests and not reviewed for the request arena"
        );
    }
}
