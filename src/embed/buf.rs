//! A zero-initialised, 64-byte-aligned buffer of plain numbers, so that
//! tile rows and vectors start on cache lines.

use std::alloc::{alloc, alloc_zeroed, dealloc, handle_alloc_error, Layout};
use std::marker::PhantomData;
use std::ptr::NonNull;

/// Huge page size; buffers from a quarter of it up are 2 MiB aligned and
/// backed by huge pages.
const HUGE: usize = 2 << 20;

/// `madvise(MADV_HUGEPAGE)`; a hint, so failure is ignored.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn advise_huge(ptr: *mut u8, len: usize) {
    const SYS_MADVISE: usize = 28;
    const MADV_HUGEPAGE: usize = 14;
    // SAFETY: madvise only changes how the kernel backs this mapping, which
    // this buffer owns; no memory is read or written.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") SYS_MADVISE => _,
            in("rdi") ptr,
            in("rsi") len,
            in("rdx") MADV_HUGEPAGE,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn advise_huge(_ptr: *mut u8, _len: usize) {}

/// Element types a [`Buf`] may hold: plain numbers for which all-zero bytes
/// are a valid value.
pub trait Zeroable: Copy {}
impl Zeroable for f32 {}
impl Zeroable for u16 {}

/// A heap buffer of `len` `T`, aligned to 64 bytes, zeroed when made.
pub struct Buf<T: Zeroable> {
    ptr: NonNull<T>,
    len: usize,
    _own: PhantomData<T>,
}

// SAFETY: Buf owns its allocation like a Vec<T> of plain numbers.
unsafe impl<T: Zeroable + Send> Send for Buf<T> {}
// SAFETY: shared access only hands out `&[T]`.
unsafe impl<T: Zeroable + Sync> Sync for Buf<T> {}

impl<T: Zeroable> Buf<T> {
    fn layout(len: usize) -> Layout {
        let bytes = len.max(1) * size_of::<T>();
        // Large buffers (weights, activations) start on a 2 MiB boundary
        // and ask for transparent huge pages: tile loads stride across
        // rows, and 4 KiB pages made them miss the TLB.
        let align = if bytes >= HUGE / 4 { HUGE } else { 64 };
        Layout::from_size_align(bytes.next_multiple_of(align), align)
            .expect("buffer size fits isize")
    }

    /// `len` zeros.
    pub fn zeroed(len: usize) -> Buf<T> {
        let layout = Self::layout(len);
        let raw = if layout.align() == HUGE {
            // Advise before the first touch, so the zeroing faults in huge
            // pages.
            // SAFETY: the layout has a non-zero size.
            let raw = unsafe { alloc(layout) };
            if !raw.is_null() {
                advise_huge(raw, layout.size());
                // SAFETY: `raw` is a fresh allocation of `layout.size()` bytes.
                unsafe { std::ptr::write_bytes(raw, 0, layout.size()) };
            }
            raw as *mut T
        } else {
            // SAFETY: the layout has a non-zero size.
            unsafe { alloc_zeroed(layout) as *mut T }
        };
        let ptr = NonNull::new(raw).unwrap_or_else(|| handle_alloc_error(layout));
        Buf {
            ptr,
            len,
            _own: PhantomData,
        }
    }

    /// The elements.
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: `len` initialised (zeroed, then only written as T) elements.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The elements, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: as `as_slice`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Start pointer.
    pub fn as_ptr(&self) -> *const T {
        self.ptr.as_ptr()
    }

    /// Start pointer, mutable.
    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.ptr.as_ptr()
    }
}

impl<T: Zeroable> Drop for Buf<T> {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with this same layout.
        unsafe { dealloc(self.ptr.as_ptr() as *mut u8, Self::layout(self.len)) };
    }
}
