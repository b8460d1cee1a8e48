//! A zero-initialised, 64-byte-aligned buffer of plain numbers, so that
//! tile rows and vectors start on cache lines.

use std::alloc::{alloc_zeroed, dealloc, handle_alloc_error, Layout};
use std::marker::PhantomData;
use std::ptr::NonNull;

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
        Layout::from_size_align(len.max(1) * size_of::<T>(), 64).expect("buffer size fits isize")
    }

    /// `len` zeros.
    pub fn zeroed(len: usize) -> Buf<T> {
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout) } as *mut T;
        let ptr = NonNull::new(raw).unwrap_or_else(|| handle_alloc_error(layout));
        Buf {
            ptr,
            len,
            _own: PhantomData,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
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

    /// Grow to at least `len` elements (contents are then all zero).
    pub fn reserve_zeroed(&mut self, len: usize) {
        if len > self.len {
            *self = Buf::zeroed(len);
        }
    }
}

impl<T: Zeroable> Drop for Buf<T> {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with this same layout.
        unsafe { dealloc(self.ptr.as_ptr() as *mut u8, Self::layout(self.len)) };
    }
}
