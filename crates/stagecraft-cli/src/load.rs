//! Loading a configuration from disk: the real [`Host`] (files beside the configuration, the
//! process environment), every diagnostic rendered against the file, and artifact digests.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use miette::Report;
use sha2::{Digest, Sha256};
use stagecraft_config::{
    ArtifactKind, Config, ConfigErrors, Host, PathInfo, Secrets, resolve_secrets,
};
use stagecraft_core::graph::{CycleError, Graph};

/// The file system beside the configuration and the process environment.
pub struct DiskHost {
    base: PathBuf,
}

impl Host for DiskHost {
    fn inspect_path(&self, path: &str) -> PathInfo {
        let full = self.base.join(path);
        if full.is_dir() {
            PathInfo::Directory
        } else if full.is_file() {
            PathInfo::File
        } else {
            PathInfo::Missing
        }
    }

    fn env_var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A loaded, validated configuration and what was derived from it.
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Its dependency graph.
    pub graph: Graph,
    /// The folder relative paths are resolved against.
    pub base: PathBuf,
    /// The configuration text.
    pub text: String,
}

/// Whether `{ env = ... }` values are read (plan, apply) or only checked for form (validate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretMode {
    /// Read them; a missing variable is an error.
    Read,
    /// Leave them unread.
    Skip,
}

/// Reads, parses and validates `path`, rendering every problem into one report: the file's
/// own (not UTF-8, TOML, keys and values, references), dependency cycles among the resources
/// that are valid, and, with [`SecretMode::Read`], the environment variables that are missing
/// or invalid.
pub fn load(path: &Path, mode: SecretMode) -> Result<(Loaded, Secrets), Report> {
    let bytes = fs::read(path).map_err(|error| {
        miette::miette!(
            code = "config::read",
            help = "pass --config FILE, or run stagecraft in the folder that holds deploy.toml",
            "cannot read {}: {error}",
            path.display()
        )
    })?;
    let base = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let host = DiskHost { base: base.clone() };
    let parsed = stagecraft_config::parse_bytes(&bytes, &host);
    let mut errors = parsed.errors;
    let mut graph = None;
    let mut secrets = Secrets::default();
    if let Some(config) = &parsed.config {
        match Graph::build(config) {
            Ok(built) => graph = Some(built),
            Err(cycles) => errors.extend(cycles.iter().map(CycleError::to_config_error)),
        }
        if mode == SecretMode::Read {
            match resolve_secrets(config, &host) {
                Ok(read) => secrets = read,
                Err(missing) => errors.extend(missing),
            }
        }
    }
    // The text as it is shown: for a file that is not UTF-8 (its only error), with replacement
    // characters; otherwise the bytes unchanged.
    let text = String::from_utf8_lossy(&bytes).into_owned();
    match (parsed.config, graph) {
        (Some(config), Some(graph)) if errors.is_empty() => Ok((
            Loaded {
                config,
                graph,
                base,
                text,
            },
            secrets,
        )),
        _ => Err(Report::new(ConfigErrors::new(
            path.display().to_string(),
            text,
            errors,
        ))),
    }
}

impl Loaded {
    /// The content digest of each artifact, by configured path: a folder's digest covers each
    /// file's relative path and bytes in sorted order (never mtimes); a zip's, its bytes.
    pub fn artifact_digests(&self) -> Result<BTreeMap<String, String>, Report> {
        let mut out = BTreeMap::new();
        for app in self.config.amplify_apps.values() {
            for branch in app.branches.values() {
                // Branches often share one build output: digest each path once.
                if let Some(artifact) = &branch.artifact
                    && !out.contains_key(&artifact.path)
                {
                    let full = self.base.join(&artifact.path);
                    let digest = match artifact.kind {
                        ArtifactKind::Directory => digest_directory(&full),
                        ArtifactKind::Zip => digest_file(&full),
                    }
                    .map_err(|error| {
                        miette::miette!(
                            code = "artifact::read",
                            "cannot read artifact {}: {error}",
                            full.display()
                        )
                    })?;
                    out.insert(artifact.path.clone(), digest);
                }
            }
        }
        Ok(out)
    }

    /// A digest of the configuration text and the artifacts' digests, for saved plans.
    pub fn config_digest(&self, artifacts: &BTreeMap<String, String>) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.text.as_bytes());
        for (path, digest) in artifacts {
            hasher.update([0]);
            hasher.update(path.as_bytes());
            hasher.update([0]);
            hasher.update(digest.as_bytes());
        }
        format!("sha256:{}", hex::encode(hasher.finalize()))
    }
}

/// The digest of a file's bytes, `sha256:<hex>`.
pub fn digest_file(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut file = fs::File::open(path)?;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// The files of a folder, relative paths with `/`, sorted.
pub fn artifact_files(root: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.map_err(std::io::Error::other)?;
        if entry.file_type().is_file() {
            let relative = entry
                .path()
                .strip_prefix(root)
                .map_err(std::io::Error::other)?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.push((relative, entry.path().to_path_buf()));
        }
    }
    files.sort();
    Ok(files)
}

/// A folder's content digest, built file by file in [`artifact_files`] order: each file's
/// relative path and the digest of its bytes. The packager computes the same value from the
/// bytes it zips.
pub struct DirectoryDigest(Sha256);

impl DirectoryDigest {
    /// An empty folder's digest, to add files to.
    pub fn new() -> Self {
        DirectoryDigest(Sha256::new())
    }

    /// Adds one file: its relative path (with `/`) and its [`digest_file`] value.
    pub fn add(&mut self, relative: &str, file_digest: &str) {
        self.0.update(relative.as_bytes());
        self.0.update([0]);
        self.0.update(file_digest.as_bytes());
        self.0.update([0]);
    }

    /// The digest, `sha256:<hex>`.
    pub fn finish(self) -> String {
        format!("sha256:{}", hex::encode(self.0.finalize()))
    }
}

/// The content digest of a folder: its files' relative paths and bytes, never their mtimes.
pub fn digest_directory(root: &Path) -> std::io::Result<String> {
    let mut digest = DirectoryDigest::new();
    for (relative, path) in artifact_files(root)? {
        digest.add(&relative, &digest_file(&path)?);
    }
    Ok(digest.finish())
}

#[cfg(test)]
mod tests;
