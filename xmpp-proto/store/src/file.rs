//! The store file is owner-only (0600 on Unix) before SQLite ever opens it:
//! created with that mode, or, when it exists with group or other bits,
//! tightened to it. SQLite creates its `-wal` and `-shm` files with the
//! database file's mode; any left by an earlier run are tightened too.

use std::fs::OpenOptions;
use std::path::Path;

use crate::StoreError;

/// The files SQLite keeps beside the database in WAL mode (and the
/// rollback journal it uses while switching to WAL).
pub(crate) const SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Creates `path` owner-only if it does not exist, and makes it (and the
/// side files present) owner-only if it does.
pub(crate) fn prepare(path: &Path) -> Result<(), StoreError> {
    let file_error = |source| StoreError::File {
        path: path.to_path_buf(),
        source,
    };
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true);
    owner_only_mode(&mut options);
    let file = options.open(path).map_err(file_error)?;
    let meta = file.metadata().map_err(file_error)?;
    if !meta.is_file() {
        return Err(StoreError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    tighten(&file, &meta).map_err(file_error)?;
    for suffix in SIDE_FILES {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = Path::new(&side);
        // Only one that exists (never created here): SQLite makes its own.
        if let Ok(file) = OpenOptions::new().read(true).open(side) {
            let meta = file.metadata().map_err(|source| StoreError::File {
                path: side.to_path_buf(),
                source,
            })?;
            tighten(&file, &meta).map_err(|source| StoreError::File {
                path: side.to_path_buf(),
                source,
            })?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn owner_only_mode(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    options.mode(0o600);
}

#[cfg(not(unix))]
fn owner_only_mode(_options: &mut OpenOptions) {}

/// Makes the file 0600 when any group or other permission bit is set.
#[cfg(unix)]
fn tighten(file: &std::fs::File, meta: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_file: &std::fs::File, _meta: &std::fs::Metadata) -> std::io::Result<()> {
    Ok(())
}
