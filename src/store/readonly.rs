//! Reading a full-text index that this process may not write.
//!
//! tantivy's reader takes its meta lock (`.tantivy-meta.lock`, a file it
//! creates) while it loads segments, so that a writer's garbage collection
//! waits. On a read-only file system, or in a folder the user may not write
//! (an index shared read-only), creating that file fails and no search
//! could run. [`NoLockDirectory`] is the same folder with locking left out:
//! [`super::Store`] falls back to it only when the lock file cannot be
//! created. Where no write is possible no writer can collect files either;
//! where another user may write, a commit that lands while a reader loads
//! makes the load fail, and the store retries it.

use std::io;
use std::path::Path;
use std::sync::Arc;

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, WatchCallback, WatchHandle, WritePtr,
};

/// An [`MmapDirectory`] whose locks are no-ops.
#[derive(Debug, Clone)]
pub struct NoLockDirectory(MmapDirectory);

impl NoLockDirectory {
    /// Open `path` for reading without locks.
    pub fn open(
        path: &Path,
    ) -> Result<NoLockDirectory, tantivy::directory::error::OpenDirectoryError> {
        MmapDirectory::open(path).map(NoLockDirectory)
    }
}

impl Directory for NoLockDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.0.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.0.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.0.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.0.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.0.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.0.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.0.sync_directory()
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.0.watch(watch_callback)
    }

    fn acquire_lock(&self, _lock: &Lock) -> Result<DirectoryLock, LockError> {
        Ok(DirectoryLock::from(Box::new(())))
    }
}

/// Whether a tantivy error is a lock file that could not be created because
/// the folder is not writable.
pub fn is_unwritable_lock(e: &tantivy::TantivyError) -> bool {
    matches!(
        e,
        tantivy::TantivyError::LockFailure(LockError::IoError(io), _)
            if matches!(io.kind(), io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied)
    )
}
