//! `stagecraft fmt [--check] [--diff] [FILES...]`: rewrite configuration files in the canonical
//! form (stagecraft-config's `format`; docs/configuration.md, "Formatting"). Each changed file's
//! name is printed (and its diff with `--diff`); `--check` writes nothing and exits 3 when a
//! file would change. A file that is not TOML is reported with its line and column, left
//! untouched, and makes the exit code 1; the other files are still formatted. `-` reads
//! standard input and prints the formatted text (for editors), or with `--check` nothing.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use miette::{IntoDiagnostic, Report, WrapErr};
use stagecraft_config::ConfigErrors;

use crate::args::FmtArgs;
use crate::settings::Settings;
use crate::{EXIT_FAILURE, EXIT_OK, EXIT_UNFORMATTED};

/// `stagecraft fmt`.
pub fn run(settings: &Settings, args: &FmtArgs) -> Result<u8, Report> {
    let files = if args.files.is_empty() {
        settings.config.clone()
    } else {
        expand(&args.files)?
    };
    let mut failed = false;
    let mut unformatted = false;
    for path in &files {
        let result = if path.as_os_str() == "-" {
            format_stdin(args)
        } else {
            format_file(path, args)
        };
        match result {
            Ok(changed) => unformatted |= changed,
            Err(report) => {
                eprintln!("{report:?}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        EXIT_FAILURE
    } else if args.check && unformatted {
        EXIT_UNFORMATTED
    } else {
        EXIT_OK
    })
}

/// The files named, a folder standing for its `*.toml` files (not its subfolders), sorted.
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Report> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = fs::read_dir(path)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot read folder {}", path.display()))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "toml"))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// Formats standard input onto standard output; whether it was not formatted.
fn format_stdin(args: &FmtArgs) -> Result<bool, Report> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .into_diagnostic()
        .wrap_err("cannot read standard input as UTF-8 text")?;
    let formatted = formatted("<stdin>", &text)?;
    let mut out = std::io::stdout().lock();
    if args.diff && formatted != text {
        write_diff(&mut out, "<stdin>", &text, &formatted)?;
    } else if !args.check {
        out.write_all(formatted.as_bytes()).into_diagnostic()?;
    }
    Ok(formatted != text)
}

/// `text` formatted, or its syntax error rendered against it.
fn formatted(name: &str, text: &str) -> Result<String, Report> {
    stagecraft_config::format(text)
        .map_err(|error| Report::new(ConfigErrors::new(name, text.to_string(), vec![*error])))
}

fn write_diff(out: &mut impl Write, name: &str, old: &str, new: &str) -> Result<(), Report> {
    let diff = similar::TextDiff::from_lines(old, new);
    write!(
        out,
        "{}",
        diff.unified_diff().context_radius(3).header(
            &format!("{name} (original)"),
            &format!("{name} (formatted)")
        )
    )
    .into_diagnostic()
}

/// Formats one file; whether it was (or, with `--check`, would be) changed.
fn format_file(path: &Path, args: &FmtArgs) -> Result<bool, Report> {
    let bytes = fs::read(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|error| {
        let at = error.utf8_error().valid_up_to();
        miette::miette!(
            code = "config::not_utf8",
            "{} is not UTF-8 (byte {at} is not valid here); it is left as it is",
            path.display()
        )
    })?;
    let formatted = formatted(&path.display().to_string(), &text)?;
    if formatted == text {
        return Ok(false);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", path.display()).into_diagnostic()?;
    if args.diff {
        write_diff(&mut out, &path.display().to_string(), &text, &formatted)?;
    }
    if !args.check {
        write_keeping_permissions(path, formatted.as_bytes())
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    }
    Ok(true)
}

/// Replaces `path` atomically (a temporary file beside it, fsync, rename), keeping its
/// permissions.
pub(crate) fn write_keeping_permissions(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let permissions = fs::metadata(path)?.permissions();
    let mut temporary = tempfile::Builder::new()
        .prefix(".stagecraft-fmt-")
        .tempfile_in(&folder)?;
    temporary.write_all(bytes)?;
    temporary.as_file().sync_all()?;
    fs::set_permissions(temporary.path(), permissions)?;
    temporary.persist(path).map_err(|error| error.error)?;
    fs::File::open(&folder)?.sync_all()
}
