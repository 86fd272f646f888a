//! The workspace's files on disk: customer data in SQLite databases, their journals and the
//! log. They are private to the operator who runs cutover (directories 0700, files 0600), an
//! existing file's mode is never loosened, and a file readable by others is reported when the
//! workspace opens. A database file that disappears under a running engine (deleted, moved)
//! stops it: SQLite would go on writing into the unlinked file and lose everything at exit.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Makes every file and directory this process creates private to its user (umask 077), so
/// that SQLite's databases, WAL and shared-memory files and the log are 0600 from their
/// first byte. Call it first thing in `main`.
pub fn private_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Creates `dir` and its missing parents with mode 0700; an existing directory is left as it is.
///
/// Errors: the directory cannot be created (the message names it).
pub fn private_dir(dir: &Path) -> eyre::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| eyre::eyre!("cannot create {}: {e}", dir.display()))
}

/// Opens `path` for appending, creating it with mode 0600 if it is missing.
///
/// Errors: the file cannot be opened or created.
pub fn private_append(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// A SQLite database's file and the journal files SQLite keeps beside it.
pub fn with_journals(db: &Path) -> [PathBuf; 4] {
    ["", "-wal", "-shm", "-journal"].map(|s| PathBuf::from(format!("{}{s}", db.display())))
}

/// Sets `db` and its journal files to 0600, for a database this process has just created
/// (the umask already did; this checks it whatever the umask was).
///
/// Errors: a file that exists and whose mode cannot be set.
pub fn make_private(db: &Path) -> eyre::Result<()> {
    for f in with_journals(db) {
        match std::fs::metadata(&f) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| eyre::eyre!("cannot make {} private: {e}", f.display()))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// One warning per file among `files` (and their journals, for databases) that group or
/// others may read or write: "state.db is readable by others (mode 0644): run `chmod 600 …`".
/// Missing files are not warned about.
pub fn exposed(files: &[PathBuf]) -> Vec<String> {
    let mut out = Vec::new();
    for base in files {
        for f in with_journals(base) {
            let Ok(m) = std::fs::metadata(&f) else {
                continue;
            };
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                out.push(format!(
                    "{} holds customer data and is open to group or others (mode {mode:04o}): run `chmod 600 {}`",
                    f.display(),
                    f.display()
                ));
            }
        }
    }
    out
}

/// A workspace database file as it was when opened, to notice it disappearing.
#[derive(Debug, Clone)]
pub struct Watched {
    /// The config key that names it (`state.url`, `target.url`).
    pub key: &'static str,
    /// The file.
    pub path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Watched {
    /// Starts watching `path`; `None` when it cannot be read (nothing to watch).
    pub fn new(key: &'static str, path: &Path) -> Option<Watched> {
        let m = std::fs::metadata(path).ok()?;
        Some(Watched {
            key,
            path: path.to_path_buf(),
            dev: m.dev(),
            ino: m.ino(),
        })
    }

    /// Errors when the file is gone or another file took its name since it was opened.
    pub fn check(&self) -> eyre::Result<()> {
        match std::fs::metadata(&self.path) {
            Ok(m) if m.dev() == self.dev && m.ino() == self.ino => Ok(()),
            Ok(_) => eyre::bail!(
                "the database of `{}` ({}) was replaced by another file while in use; stopping",
                self.key,
                self.path.display()
            ),
            Err(e) => eyre::bail!(
                "the database of `{}` ({}) disappeared while in use ({e}); stopping",
                self.key,
                self.path.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposed_files_are_named_and_private_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open.db");
        let closed = dir.path().join("closed.db");
        std::fs::write(&open, "x").unwrap();
        std::fs::write(&closed, "x").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o600)).unwrap();
        let w = exposed(&[open.clone(), closed]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("open.db") && w[0].contains("0644"), "{w:?}");
        make_private(&open).unwrap();
        assert!(exposed(&[open]).is_empty());
    }

    #[test]
    fn a_watched_file_that_goes_away_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.db");
        std::fs::write(&f, "x").unwrap();
        let w = Watched::new("target.url", &f).unwrap();
        w.check().unwrap();
        // Another file moved over it (made while the first still exists: a new inode).
        let other = dir.path().join("other.db");
        std::fs::write(&other, "y").unwrap();
        std::fs::rename(&other, &f).unwrap();
        let e = w.check().unwrap_err().to_string();
        assert!(e.contains("replaced"), "{e}");
        std::fs::remove_file(&f).unwrap();
        let e = w.check().unwrap_err().to_string();
        assert!(e.contains("target.url") && e.contains("disappeared"), "{e}");
    }
}
