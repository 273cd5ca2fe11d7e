//! Writing a file atomically: into a temporary file beside it, renamed over the target
//! only once complete, so a failed run never leaves a half-written file behind.

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

/// Write `path` through `write`; the file appears complete or not at all.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let shown = path.display().to_string();
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::config(format!("{shown}: not a file name")))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
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
}
