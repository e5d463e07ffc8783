//! What a run and a comparison write for people to read: plots, per-sample predictions,
//! calibration, shot groups, and the atomic file write every output goes through. Depends on
//! nothing else of the crate.

pub mod calibration;
pub mod plots;
pub mod predictions;
pub mod shots;

use std::path::Path;

use anyhow::Context;

/// `text` as one cell of a Markdown table: a line break or a `|` (a class name read from a
/// quoted CSV field may hold either) would end the cell or the row, so they are escaped.
pub fn markdown_cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", "\\n")
        .replace(['\n', '\r'], "\\n")
}

/// The peak resident memory of this process so far, from `/proc/self/status` (`VmHWM`);
/// `None` where that file does not exist (other OSes than Linux).
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Writes `content` to a temporary file beside `path`, then renames it, so an interrupted
/// write never leaves a half-written file at `path`; a failed one removes the temporary file.
///
/// # Errors
/// The file cannot be written or renamed, naming `path`.
pub fn write_atomic(path: &Path, content: &str) -> anyhow::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    // Flushed to the disk before the rename, so that after a power cut the name never points
    // at an empty or half-written file (the `finished` marker is written this way, last).
    let written = std::fs::File::create(&partial)
        .and_then(|mut file| {
            std::io::Write::write_all(&mut file, content.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&partial, path))
        .map(|()| {
            // The rename itself reaches the disk with the directory; best effort where the
            // platform cannot open a directory.
            if let Some(dir) = path.parent()
                && let Ok(dir) = std::fs::File::open(dir)
            {
                let _ = dir.sync_all();
            }
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 27, item 6: a class name from a quoted CSV field keeps a Markdown row one row.
    #[test]
    fn a_markdown_cell_is_one_cell() {
        for (cell, want) in [
            ("plain", "plain"),
            ("two\nlines", "two\\nlines"),
            ("a|b", "a\\|b"),
            ("crlf\r\nend", "crlf\\nend"),
            ("back\\slash", "back\\\\slash"),
        ] {
            assert_eq!(markdown_cell(cell), want);
        }
    }

    #[test]
    fn a_failed_write_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        // The rename fails: a folder holds the name.
        std::fs::create_dir(&path).unwrap();
        let err = format!("{:#}", write_atomic(&path, "{}").unwrap_err());
        assert!(
            err.starts_with(&format!("cannot write {}", path.display())),
            "{err}"
        );
        assert!(!dir.path().join("report.json.partial").exists());
        write_atomic(&dir.path().join("ok.json"), "{}").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("ok.json")).unwrap(),
            "{}"
        );
        assert!(!dir.path().join("ok.json.partial").exists());
    }
}
