//! Writing a file atomically: into a temporary file beside it, renamed over the target
//! only once complete, so a failed run never leaves a half-written file behind. And
//! checking, before any work, that a file or directory can be written there. A device or
//! pipe (`/dev/null`, `/dev/stdout`, a shell's `>(...)`) is written to directly: renaming
//! a file over it would replace the device itself (as root, `/dev/null` would become a
//! regular file that every later reader of "nothing" reads back).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Removes the temporary file unless the write completed.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// Write `path` through `write`; the file appears complete or not at all. A device or
/// pipe is written to directly.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let shown = path.display().to_string();
    if is_device_or_pipe(path) {
        let file = fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(&shown, e))?;
        let mut out = BufWriter::new(file);
        write(&mut out)?;
        return out.flush().map_err(|e| Error::io(&shown, e));
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::config(format!("{shown}: not a file name")))?;
    let dir = parent_dir(path);
    let temp = dir.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let file = File::create(&temp).map_err(|e| Error::io(&shown, e))?;
    let mut guard = TempGuard(Some(temp.clone()));
    let mut out = BufWriter::new(file);
    write(&mut out)?;
    let file = out
        .into_inner()
        .map_err(|e| Error::io(&shown, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(&shown, e))?;
    fs::rename(&temp, path).map_err(|e| Error::io(&shown, e))?;
    guard.0 = None;
    Ok(())
}

/// True when `path` exists and is neither a regular file nor a directory (following
/// links): a device, a pipe or a socket.
fn is_device_or_pipe(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// An I/O error on `path` that says `message` (what is wrong and what was expected).
fn unwritable(path: &Path, kind: std::io::ErrorKind, message: String) -> Error {
    Error::io(
        &path.display().to_string(),
        std::io::Error::new(kind, message),
    )
}

/// The directory a file `path` would be written in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Check that `dir`, an existing directory, takes new files: create and remove a probe
/// file in it. `path` is the file or directory the error names.
fn probe(dir: &Path, path: &Path) -> Result<()> {
    if !dir.exists() {
        return Err(unwritable(
            path,
            std::io::ErrorKind::NotFound,
            format!("the directory '{}' does not exist", dir.display()),
        ));
    }
    if !dir.is_dir() {
        return Err(unwritable(
            path,
            std::io::ErrorKind::NotADirectory,
            format!("'{}' is not a directory", dir.display()),
        ));
    }
    let probe = dir.join(format!(".csvnn-probe-{}", std::process::id()));
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(unwritable(
            path,
            e.kind(),
            format!("cannot write in the directory '{}': {e}", dir.display()),
        )),
    }
}

/// Check, before any work, that the file `path` can be written: it is not a directory
/// (nor named like one, ending with `/`) and its directory exists and takes new files.
/// Leaves nothing behind.
pub fn check_writable_file(path: &Path) -> Result<()> {
    let problem = if is_device_or_pipe(path) {
        return Ok(()); // written in place; opening a pipe here would wait for its reader
    } else if path.is_dir() {
        "is a directory"
    } else if path
        .as_os_str()
        .to_string_lossy()
        .ends_with(['/', std::path::MAIN_SEPARATOR])
    {
        "ends with a slash, so names a directory"
    } else {
        return probe(&parent_dir(path), path);
    };
    Err(unwritable(
        path,
        std::io::ErrorKind::IsADirectory,
        format!("{problem}; expected a file name"),
    ))
}

/// Check, before any work, that files can be written in the directory `dir`: an existing
/// directory that takes new files, or a missing one whose nearest existing ancestor is a
/// directory that does (it is created when first written). Leaves nothing behind.
pub fn check_writable_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(unwritable(
            dir,
            std::io::ErrorKind::NotADirectory,
            "is a file; expected a directory".to_string(),
        ));
    }
    let mut existing = dir;
    while !existing.as_os_str().is_empty() && !existing.exists() {
        existing = existing.parent().unwrap_or(Path::new(""));
    }
    if existing.as_os_str().is_empty() {
        existing = Path::new(".");
    }
    probe(existing, dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_nothing_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.json");
        write_atomically(&path, |w| {
            w.write_all(b"old").unwrap();
            Ok(())
        })
        .unwrap();
        let failed = write_atomically(&path, |w| {
            w.write_all(b"half").unwrap();
            Err(Error::Training("stopped".into()))
        });
        assert!(failed.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn writable_paths_are_checked_without_leaving_anything() {
        let dir = tempfile::tempdir().unwrap();
        let message = |r: Result<()>| r.unwrap_err().to_string();
        let file = dir.path().join("m.json");
        check_writable_file(&file).unwrap();
        check_writable_dir(&dir.path().join("new/deeper")).unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let missing = dir.path().join("missing/m.json");
        assert_eq!(
            message(check_writable_file(&missing)),
            format!(
                "{}: the directory '{}' does not exist",
                missing.display(),
                dir.path().join("missing").display()
            )
        );
        assert_eq!(
            message(check_writable_file(dir.path())),
            format!(
                "{}: is a directory; expected a file name",
                dir.path().display()
            )
        );
        let slash = PathBuf::from(format!("{}/", dir.path().join("new").display()));
        assert_eq!(
            message(check_writable_file(&slash)),
            format!(
                "{}: ends with a slash, so names a directory; expected a file name",
                slash.display()
            )
        );
        fs::write(&file, "x").unwrap();
        assert_eq!(
            message(check_writable_dir(&file)),
            format!("{}: is a file; expected a directory", file.display())
        );
        let under_file = file.join("ck");
        assert_eq!(
            message(check_writable_dir(&under_file)),
            format!(
                "{}: '{}' is not a directory",
                under_file.display(),
                file.display()
            )
        );
        assert_eq!(
            message(check_writable_file(&under_file)),
            format!(
                "{}: '{}' is not a directory",
                under_file.display(),
                file.display()
            )
        );
    }
}
