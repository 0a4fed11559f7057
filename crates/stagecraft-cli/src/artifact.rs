//! Packaging an Amplify artifact for upload: a folder becomes a deterministic zip with its
//! contents at the zip root, a `.zip` file is used as it is.
//!
//! "Deterministic" means the zip's bytes depend only on the folder's file names and contents:
//! entries in sorted order (the order [`load::artifact_files`](crate::load::artifact_files)
//! gives, the same files the plan's digest covers), every timestamp 1980-01-01 00:00:00 (the
//! zip format's earliest), permissions 0644, deflate, no directory entries and no extra fields.
//! The packaged artifact also carries the content digest of what was packed, computed by the
//! same rule as the plan's (`Loaded::artifact_digests`) from the very bytes that went into the
//! zip, so the executor can tell that the folder changed between plan and apply.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::load::{DirectoryDigest, artifact_files, digest_file};

/// A zip ready for upload. A zip built from a folder lives in a temporary file that is deleted
/// when this value is dropped: keep it until the upload is done.
#[derive(Debug)]
pub struct PackagedArtifact {
    zip: ZipFile,
    size: u64,
    digest: String,
}

/// Where the zip is: a temporary file we built, or the user's own `.zip`.
#[derive(Debug)]
enum ZipFile {
    Built(NamedTempFile),
    Given(PathBuf),
}

impl PackagedArtifact {
    /// The zip file to upload.
    pub fn path(&self) -> &Path {
        match &self.zip {
            ZipFile::Built(file) => file.path(),
            ZipFile::Given(path) => path,
        }
    }

    /// The zip's size in bytes (the upload's `Content-Length`).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The content digest of what was packaged (`sha256:...`), by the same rule as the plan's
    /// artifact digests: compare it with the plan's to detect a change since planning.
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

/// Why an artifact could not be packaged.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ArtifactError {
    /// The configured path is neither a folder nor a `.zip` file (any more).
    #[error("artifact {} is neither a folder nor a .zip file", path.display())]
    #[diagnostic(
        code(artifact::kind),
        help(
            "the artifact must be a build output folder or a .zip file; run `stagecraft plan` again"
        )
    )]
    NotAnArtifact {
        /// The full path.
        path: PathBuf,
    },
    /// A file of the artifact could not be read.
    #[error("cannot read artifact file {}: {source}", path.display())]
    #[diagnostic(code(artifact::read))]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The temporary zip could not be written.
    #[error("cannot write the zip of artifact {}: {source}", path.display())]
    #[diagnostic(
        code(artifact::write),
        help("check the free space and permissions of the temporary folder (TMPDIR)")
    )]
    Write {
        /// The artifact folder being zipped.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// The fixed settings of every entry: the same bytes for the same contents.
fn entry_options(size: u64) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644)
        // Zip64 only where the format needs it, so that it depends on the size alone.
        .large_file(size >= u64::from(u32::MAX))
}

/// Packages the artifact configured as `configured_path` (relative to `base`, the folder of
/// deploy.toml): a folder is zipped into a temporary file, a `.zip` file is used in place.
pub fn package(base: &Path, configured_path: &str) -> Result<PackagedArtifact, ArtifactError> {
    let full = base.join(configured_path);
    if full.is_dir() {
        zip_directory(&full)
    } else if full.is_file() && configured_path.to_ascii_lowercase().ends_with(".zip") {
        let read = |source| ArtifactError::Read {
            path: full.clone(),
            source,
        };
        let size = full.metadata().map_err(read)?.len();
        let digest = digest_file(&full).map_err(read)?;
        Ok(PackagedArtifact {
            zip: ZipFile::Given(full),
            size,
            digest,
        })
    } else {
        Err(ArtifactError::NotAnArtifact { path: full })
    }
}

/// Zips the files of `root` (contents at the zip root) into a new temporary file.
fn zip_directory(root: &Path) -> Result<PackagedArtifact, ArtifactError> {
    let write = |source| ArtifactError::Write {
        path: root.to_path_buf(),
        source,
    };
    let files = artifact_files(root).map_err(|source| ArtifactError::Read {
        path: root.to_path_buf(),
        source,
    })?;
    let temp = tempfile::Builder::new()
        .prefix("stagecraft-artifact-")
        .suffix(".zip")
        .tempfile()
        .map_err(write)?;
    let mut zip = ZipWriter::new(BufWriter::new(temp));
    let mut digest = DirectoryDigest::new();
    for (relative, path) in &files {
        let read = |source| ArtifactError::Read {
            path: path.clone(),
            source,
        };
        let file = File::open(path).map_err(read)?;
        let size = file.metadata().map_err(read)?.len();
        zip.start_file(relative.as_str(), entry_options(size))
            .map_err(|e| write(io::Error::other(e)))?;
        // Hash the bytes as they go into the zip: the digest describes exactly what was packed.
        let mut reader = HashingReader::new(file);
        copy(&mut reader, &mut zip).map_err(|e| match e {
            CopyError::Read(source) => read(source),
            CopyError::Write(source) => write(source),
        })?;
        digest.add(relative, &reader.finish());
    }
    let temp = zip
        .finish()
        .map_err(|e| write(io::Error::other(e)))?
        .into_inner()
        .map_err(|e| write(e.into_error()))?;
    let size = temp.as_file().metadata().map_err(write)?.len();
    Ok(PackagedArtifact {
        zip: ZipFile::Built(temp),
        size,
        digest: digest.finish(),
    })
}

/// Which side of a copy failed.
enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// `io::copy`, telling a read failure (the artifact) from a write failure (the temporary zip).
fn copy(reader: &mut impl Read, writer: &mut impl Write) -> Result<(), CopyError> {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        writer
            .write_all(&buffer[..read])
            .map_err(CopyError::Write)?;
    }
}

/// A reader that hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The digest of everything read, as `digest_file` writes it.
    fn finish(self) -> String {
        format!("sha256:{}", hex::encode(self.hasher.finalize()))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
