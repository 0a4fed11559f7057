//! Loading a configuration from disk: the real [`Host`] (files beside the configuration, the
//! process environment), every diagnostic rendered against the file, and artifact digests.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use miette::Report;
use sha2::{Digest, Sha256};
use stagecraft_config::{
    ArtifactKind, Config, ConfigErrors, Host, Input, InputFile, PathInfo, Secrets, SourceRole,
    Sources, resolve_secrets,
};
use stagecraft_core::graph::{CycleError, Graph};

use crate::settings::Settings;

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
    /// The folder relative paths are resolved against: the first configuration file's (the
    /// parser has already prefixed a later file's paths with that file's folder).
    pub base: PathBuf,
    /// The files it was read from.
    pub sources: Sources,
}

/// Whether `{ env = ... }` values are read (plan, apply) or only checked for form (validate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretMode {
    /// Read them; a missing variable is an error.
    Read,
    /// Leave them unread.
    Skip,
}

/// Reads a file, or an error that names it.
fn read(path: &Path, what: &str) -> Result<Vec<u8>, Report> {
    fs::read(path).map_err(|error| {
        miette::miette!(
            code = "config::read",
            help = "pass --config FILE, or run stagecraft in the folder that holds deploy.toml",
            "cannot read {what} {}: {error}",
            path.display()
        )
    })
}

/// The folder of `path`, `.` for a bare file name.
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `folder` as the parser prefixes a file's relative paths with: `""` when it is `base`,
/// relative to `base` when inside it, else absolute (docs/configuration.md, "Environments").
fn folder_relative_to(folder: &Path, base: &Path) -> String {
    let (Ok(folder), Ok(base)) = (folder.canonicalize(), base.canonicalize()) else {
        return folder.display().to_string();
    };
    match folder.strip_prefix(&base) {
        Ok(inside) => inside
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => folder.display().to_string(),
    }
}

/// Reads, parses and validates the configuration files, var files and `--var` flags of
/// `settings`, rendering every problem into one report: the files' own (not UTF-8, TOML, keys
/// and values, variables, references), dependency cycles among the resources that are valid,
/// and, with [`SecretMode::Read`], the environment variables that are missing or invalid.
pub fn load(settings: &Settings, mode: SecretMode) -> Result<(Loaded, Secrets), Report> {
    let first = settings
        .config
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("deploy.toml"));
    let base = folder_of(&first);
    let mut input = Input::default();
    for path in &settings.config {
        input.configs.push(InputFile {
            name: path.display().to_string(),
            bytes: read(path, "the configuration")?,
            folder: folder_relative_to(&folder_of(path), &base),
        });
    }
    for path in &settings.var_files {
        input.var_files.push(InputFile {
            name: path.display().to_string(),
            bytes: read(path, "the var file")?,
            folder: String::new(),
        });
    }
    input.vars = settings.vars.clone();
    let host = DiskHost { base: base.clone() };
    let (parsed, sources) = stagecraft_config::parse_input(input, &host);
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
    match (parsed.config, graph) {
        (Some(config), Some(graph)) if errors.is_empty() => Ok((
            Loaded {
                config,
                graph,
                base,
                sources,
            },
            secrets,
        )),
        _ => Err(Report::new(ConfigErrors::in_sources(&sources, errors))),
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

    /// The configuration files' names, as messages name them.
    pub fn names(&self) -> String {
        self.sources
            .files()
            .iter()
            .filter(|file| file.role == SourceRole::Config)
            .map(|file| file.name.as_str())
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// A digest of the configuration files' texts, the values of the non-sensitive input
    /// variables and the artifacts' digests, for saved plans. Var files are not digested as
    /// text, so that no sensitive value goes into this fast hash: a sensitive variable's value
    /// is checked at apply by the salted digest the plan holds for each place it is used, as an
    /// `{ env = ... }` value is.
    pub fn config_digest(&self, artifacts: &BTreeMap<String, String>) -> String {
        let mut hasher = Sha256::new();
        for file in self.sources.files() {
            if file.role == SourceRole::Config {
                hasher.update(self.sources.file_text(file).as_bytes());
                hasher.update([0]);
            }
        }
        for (name, variable) in &self.config.variables {
            if !variable.sensitive {
                hasher.update([1]);
                hasher.update(name.as_bytes());
                hasher.update([0]);
                hasher.update(variable.value.expose().as_bytes());
            }
        }
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
