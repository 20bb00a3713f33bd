//! The plug-in's memory allocator: a bump allocator over a small static arena.
//!
//! Why: the host makes a fresh instance for every decision, so nothing a
//! plug-in allocates outlives one call, and freeing is wasted work. More
//! important, Rust's default wasm allocator takes every block it needs with
//! `memory.grow`, even when the initial memory has room; the host must then
//! change page protections (`mprotect`) to grow the memory and again to shrink
//! it for the next instance, which serialises threads and dominated the cost of
//! a decision. The arena lives in the initial memory (zeroed, so it adds no
//! bytes to the file), and a decision that fits in it never grows memory.
//!
//! A decision that needs more grows memory as before, in whole pages, up to
//! the host's memory limit. Allocation is deterministic: the same calls give
//! the same addresses.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

/// Bytes of the static arena: ample for a rule's input, facts and decision.
const ARENA: usize = 32 << 10;
const WASM_PAGE: usize = 64 << 10;

/// The allocator [`export!`](crate::export) installs in a plug-in.
pub struct Arena {
    state: UnsafeCell<State>,
}

struct State {
    memory: [u8; ARENA],
    /// The free region [next, end) in linear memory; `end == 0` until first use.
    next: usize,
    end: usize,
    /// Start of the last allocation, so that it can be grown in place or freed.
    last: usize,
}

// SAFETY: a WebAssembly plug-in has one thread (the host enables no threads).
unsafe impl Sync for Arena {}

impl Arena {
    /// An empty arena, for the `static` that [`export!`](crate::export!) declares.
    #[allow(clippy::new_without_default)] // a `static` needs a const constructor
    pub const fn new() -> Arena {
        Arena { state: UnsafeCell::new(State { memory: [0; ARENA], next: 0, end: 0, last: 0 }) }
    }
}

impl State {
    fn alloc(&mut self, layout: Layout) -> *mut u8 {
        if self.end == 0 {
            self.next = self.memory.as_mut_ptr() as usize;
            self.end = self.next + ARENA;
        }
        let start = match self.fit(layout) {
            Some(start) => start,
            None => match self.grow(layout) {
                Some(start) => start,
                None => return core::ptr::null_mut(),
            },
        };
        self.last = start;
        self.next = start + layout.size();
        start as *mut u8
    }

    /// Where `layout` fits in the free region, if it does.
    fn fit(&self, layout: Layout) -> Option<usize> {
        let start = self.next.checked_next_multiple_of(layout.align())?;
        (start.checked_add(layout.size())? <= self.end).then_some(start)
    }

    /// Take new pages from the host for an allocation the region cannot hold.
    fn grow(&mut self, layout: Layout) -> Option<usize> {
        let pages = (layout.size() + layout.align()).div_ceil(WASM_PAGE).max(1);
        let first = memory_grow(pages)?;
        let base = first * WASM_PAGE;
        (self.next, self.end) = (base, base + pages * WASM_PAGE);
        self.fit(layout)
    }
}

#[cfg(target_arch = "wasm32")]
fn memory_grow(pages: usize) -> Option<usize> {
    let previous = core::arch::wasm32::memory_grow(0, pages);
    (previous != usize::MAX).then_some(previous)
}

/// Off wasm (a plug-in's native unit tests use the system allocator) there is
/// no linear memory to grow.
#[cfg(not(target_arch = "wasm32"))]
fn memory_grow(_pages: usize) -> Option<usize> {
    None
}

unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: one thread, and no allocator call re-enters another.
        unsafe { &mut *self.state.get() }.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        let state = unsafe { &mut *self.state.get() };
        // Only the last allocation can be given back; the rest goes with the instance.
        if ptr as usize == state.last && state.last + layout.size() == state.next {
            state.next = state.last;
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let state = unsafe { &mut *self.state.get() };
        // The last allocation grows or shrinks in place when the region allows:
        // a growing Vec or String costs no copy.
        if ptr as usize == state.last
            && state.last + layout.size() == state.next
            && state.last.checked_add(new_size).is_some_and(|end| end <= state.end)
        {
            state.next = state.last + new_size;
            return ptr;
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return core::ptr::null_mut();
        };
        let new = state.alloc(new_layout);
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller size and do not overlap.
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn allocations_are_aligned_and_disjoint() {
        let arena = Arena::new();
        let a = unsafe { arena.alloc(layout(3, 1)) } as usize;
        let b = unsafe { arena.alloc(layout(8, 8)) } as usize;
        assert_eq!(b % 8, 0);
        assert!(b >= a + 3);
    }

    #[test]
    fn the_last_allocation_grows_in_place_and_can_be_freed() {
        let arena = Arena::new();
        let a = unsafe { arena.alloc(layout(16, 8)) };
        unsafe { a.write_bytes(7, 16) };
        let grown = unsafe { arena.realloc(a, layout(16, 8), 64) };
        assert_eq!(grown, a, "the last allocation grows where it is");
        let b = unsafe { arena.alloc(layout(16, 8)) };
        let moved = unsafe { arena.realloc(grown, layout(64, 8), 128) };
        assert_ne!(moved, grown, "an earlier allocation moves to grow");
        assert_eq!(unsafe { *moved.add(15) }, 7, "and keeps its bytes");
        unsafe { arena.dealloc(moved, layout(128, 8)) };
        let c = unsafe { arena.alloc(layout(128, 8)) };
        assert_eq!(c, moved, "the last allocation, freed, is reused");
        assert!(!b.is_null());
    }

    #[test]
    fn off_wasm_an_exhausted_arena_returns_null() {
        let arena = Arena::new();
        assert!(!unsafe { arena.alloc(layout(ARENA, 1)) }.is_null());
        assert!(unsafe { arena.alloc(layout(1, 1)) }.is_null());
    }
}
