//! `stagecraft fmt`'s canonical form of a TOML file (toml_edit keeps every comment, key and
//! value as written; only the whitespace between them changes). Conservative, as `terraform
//! fmt` is: keys are never reordered, values never rewritten (quotes, numbers, escapes stay),
//! arrays and inline tables the user spread over several lines stay as laid out.
//!
//! The canonical form (docs/configuration.md, "Formatting"):
//! - `key = value`: one space each side of `=`, no indentation before a key or a table header;
//!   dotted keys and headers without inner spaces (`a.b = 1`, `[a.b]`);
//! - one blank line before each table header (before its comments, or after comments that end
//!   the previous table), none before the first line of the file, none between a header and its
//!   first key, at most one anywhere else;
//! - comments kept where they are, without indentation, except a comment line continuing a
//!   trailing comment (it stays aligned with it); the space before a trailing comment is kept
//!   (aligned columns stay aligned), at least one;
//! - a single-line inline table as `{ a = 1, b = "x" }` (`{}` when empty), a single-line array
//!   as `[1, 2]`; multi-line ones keep their layout, less trailing whitespace;
//! - no trailing whitespace, exactly one final newline (an empty file stays empty).
//!
//! The formatted text is checked to parse to the same values as the input before it is
//! returned, so a formatting bug can only ever be an error, never a changed meaning.

use toml_edit::{Decor, DocumentMut, InlineTable, Item, Table, Value};

use crate::error::ConfigError;

/// Formats `source`; a file that is not TOML is its syntax error, at its span.
pub fn format(source: &str) -> Result<String, Box<ConfigError>> {
    let mut document: DocumentMut = source
        .parse()
        .map_err(|error: toml_edit::TomlError| syntax_error(error.span(), error.message()))?;
    let root_has_values = !document.as_table().get_values().is_empty();
    let first_table = if root_has_values {
        None
    } else {
        first_table_position(document.as_table())
    };
    tidy_table(document.as_table_mut(), true, first_table);
    let trailing = document.trailing().as_str().unwrap_or("").to_string();
    document.set_trailing(comment_block(&trailing, Blank::AtMostOne, false).trim_end_matches('\n'));
    let mut out = document.to_string();
    // The document's last line; the trailing part never ends with a line break of its own.
    let trimmed = out.trim_end_matches(['\n', ' ', '\t', '\r']).len();
    out.truncate(trimmed);
    if !out.is_empty() {
        out.push('\n');
    }
    same_values(source, &out)?;
    Ok(out)
}

/// Whether two documents hold the same values (both parse: `source` did, `formatted` must).
fn same_values(source: &str, formatted: &str) -> Result<(), Box<ConfigError>> {
    let before = source.parse::<toml::Table>();
    let after = formatted.parse::<toml::Table>();
    match (before, after) {
        (Ok(before), Ok(after)) if before == after => Ok(()),
        // A file toml_edit reads but toml refuses (or the other way) is left alone.
        (Err(error), _) => Err(syntax_error(error.span(), error.message())),
        _ => Err(Box::new(
            ConfigError::new(
                "config::format_changed_values",
                0..0,
                "formatting would change this file's values; it is left as it is",
                "this file",
            )
            .with_help("this is a bug in `stagecraft fmt`: please report it with the file"),
        )),
    }
}

/// A TOML syntax error, as `validate` reports one.
fn syntax_error(span: Option<std::ops::Range<usize>>, message: &str) -> Box<ConfigError> {
    Box::new(ConfigError::new(
        "config::syntax",
        span.unwrap_or(0..0),
        format!("TOML syntax error: {}", message.trim_end()),
        "here",
    ))
}

/// The smallest document position of a table that is printed with its header.
fn first_table_position(table: &Table) -> Option<isize> {
    let mut best: Option<isize> = None;
    let mut visit = |t: &Table| {
        if printed(t)
            && let Some(position) = t.position()
        {
            best = Some(best.map_or(position, |b| b.min(position)));
        }
    };
    walk_tables(table, &mut visit);
    best
}

fn walk_tables(table: &Table, visit: &mut dyn FnMut(&Table)) {
    for (_, item) in table.iter() {
        match item {
            Item::Table(child) if !child.is_dotted() => {
                visit(child);
                walk_tables(child, visit);
            }
            Item::ArrayOfTables(array) => {
                for child in array.iter() {
                    visit(child);
                    walk_tables(child, visit);
                }
            }
            _ => {}
        }
    }
}

/// Whether toml_edit prints a table's header (it hides implicit tables without values).
fn printed(table: &Table) -> bool {
    !(table.is_implicit() && table.get_values().is_empty())
}

/// How many blank lines a comment block may start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blank {
    /// None: the first thing in a table or in the file.
    None,
    /// At most one, as the user left it.
    AtMostOne,
    /// Exactly one: before a table header.
    One,
}

/// The whitespace and comments before a key or header, canonical: each comment on its own line
/// without trailing whitespace, runs of blank lines as one, the leading blank line as `blank`
/// says, no indentation after the last line break. Comment lines lose their indentation, except
/// those that `continues` a trailing comment on the line above (they stay aligned with it).
fn comment_block(raw: &str, blank: Blank, continues: bool) -> String {
    let mut segments: Vec<&str> = raw.split('\n').collect();
    // The text after the last line break is the indentation of what follows (or, at the end
    // of the file, a last comment without a line break).
    if segments.last().is_some_and(|last| last.trim().is_empty()) {
        segments.pop();
    }
    let mut leading = false;
    let mut continuing = continues;
    let mut lines: Vec<&str> = Vec::new();
    for segment in segments {
        let line = if continuing {
            segment.trim_end()
        } else {
            segment.trim()
        };
        if line.is_empty() {
            continuing = false;
            if lines.is_empty() {
                leading = true;
                continue;
            }
            if lines.last().is_some_and(|last| last.is_empty()) {
                continue;
            }
        }
        lines.push(line);
    }
    let has_blank = leading || lines.iter().any(|line| line.is_empty());
    let blank_first = match blank {
        Blank::None => false,
        Blank::AtMostOne => leading,
        // A header is set off by one blank line: before its comments, or after comments that
        // end the previous table.
        Blank::One => leading || !has_blank,
    };
    let mut out = String::new();
    if blank_first {
        out.push('\n');
    }
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A trailing comment after a value or header: the whitespace before it kept (comments
/// aligned in a column stay aligned), at least one space, none after it; or nothing.
fn trailing_comment(raw: &str) -> String {
    let text = raw.trim_end();
    let comment = text.trim_start();
    if comment.is_empty() {
        String::new()
    } else if comment.len() == text.len() {
        format!(" {comment}")
    } else {
        text.to_string()
    }
}

fn raw(decor_part: Option<&toml_edit::RawString>) -> String {
    decor_part
        .and_then(|raw| raw.as_str())
        .unwrap_or("")
        .to_string()
}

/// `table`'s keys, values and child tables, canonical. `first_table` is the position of the
/// file's first header when no key comes before it.
fn tidy_table(table: &mut Table, is_root: bool, first_table: Option<isize>) {
    let mut continues = false;
    if !is_root {
        // The header's own decor: one blank line before it, unless it opens the file.
        let blank = if table.position().is_some() && table.position() == first_table {
            Blank::None
        } else {
            Blank::One
        };
        let prefix = raw(table.decor().prefix());
        let suffix = trailing_comment(&raw(table.decor().suffix()));
        continues = !suffix.is_empty();
        let decor = table.decor_mut();
        decor.set_prefix(comment_block(&prefix, blank, false));
        decor.set_suffix(suffix);
    }
    tidy_body(table, true, &mut continues);
    for (mut key, item) in table.iter_mut() {
        match item {
            Item::Table(child) if !child.is_dotted() => {
                // Inside the header's brackets: no spaces around the key.
                let comments = raw(key.leaf_decor().prefix());
                key.leaf_decor_mut().clear();
                key.dotted_decor_mut().clear();
                if comments.contains('#') {
                    let prefix = raw(child.decor().prefix());
                    child.decor_mut().set_prefix(format!("{comments}{prefix}"));
                }
                tidy_table(child, false, first_table);
            }
            Item::ArrayOfTables(array) => {
                key.leaf_decor_mut().clear();
                key.dotted_decor_mut().clear();
                for child in array.iter_mut() {
                    tidy_table(child, false, first_table);
                }
            }
            _ => {}
        }
    }
}

/// The lines of a table's body: its values and those of its dotted tables (`a.b = 1`), in
/// order. `first` is whether the body's first line comes right after its header (or opens the
/// file); `continues`, whether the line above ends with a comment.
fn tidy_body(table: &mut Table, first: bool, continues: &mut bool) {
    let first_key = if first { first_value_key(table) } else { None };
    for (mut key, item) in table.iter_mut() {
        let is_first = first_key.as_deref() == Some(key.get());
        match item {
            Item::Value(value) => {
                key.dotted_decor_mut().clear();
                // The first key sits right under its header (or opens the file).
                let blank = if is_first {
                    Blank::None
                } else {
                    Blank::AtMostOne
                };
                let prefix = raw(key.leaf_decor().prefix());
                key.leaf_decor_mut()
                    .set_prefix(comment_block(&prefix, blank, *continues));
                key.leaf_decor_mut().set_suffix(" ");
                tidy_value(value);
                let suffix = trailing_comment(&raw(value.decor().suffix()));
                *continues = !suffix.is_empty();
                value.decor_mut().set_prefix(" ");
                value.decor_mut().set_suffix(suffix);
            }
            Item::Table(child) if child.is_dotted() => {
                key.dotted_decor_mut().clear();
                tidy_body(child, is_first, continues);
            }
            _ => {}
        }
    }
}

/// The key of the first line in a table's body (values, and dotted tables' values, in order).
fn first_value_key(table: &Table) -> Option<String> {
    table.iter().find_map(|(key, item)| match item {
        Item::Value(_) => Some(key.to_string()),
        Item::Table(child) if child.is_dotted() && !child.get_values().is_empty() => {
            Some(key.to_string())
        }
        _ => None,
    })
}

/// A value's insides: inline tables and arrays on one line get canonical spacing; those over
/// several lines keep their layout without trailing whitespace. The caller sets the value's
/// own decor.
fn tidy_value(value: &mut Value) {
    let multi_line = match value {
        Value::Array(_) | Value::InlineTable(_) => spans_lines(value),
        _ => false,
    };
    match value {
        Value::Array(array) => {
            for (index, element) in array.iter_mut().enumerate() {
                tidy_value(element);
                if multi_line {
                    tidy_decor(element.decor_mut());
                } else {
                    let prefix = if index == 0 { "" } else { " " };
                    element.decor_mut().set_prefix(prefix);
                    element.decor_mut().set_suffix("");
                }
            }
            if multi_line {
                let trailing = raw(Some(array.trailing()));
                array.set_trailing(strip_line_ends(&trailing));
            } else {
                array.set_trailing("");
            }
        }
        Value::InlineTable(table) => tidy_inline(table, multi_line),
        _ => {}
    }
}

/// Whether an array or inline table is written over several lines (its own decor, the line
/// breaks around it, aside).
fn spans_lines(value: &Value) -> bool {
    let mut bare = value.clone();
    bare.decor_mut().clear();
    bare.to_string().contains('\n')
}

fn tidy_inline(table: &mut InlineTable, multi_line: bool) {
    let count = table.len();
    for (index, (mut key, value)) in table.iter_mut().enumerate() {
        tidy_value(value);
        key.dotted_decor_mut().clear();
        if multi_line {
            tidy_decor(key.leaf_decor_mut());
            tidy_decor(value.decor_mut());
        } else {
            key.leaf_decor_mut().set_prefix(" ");
            key.leaf_decor_mut().set_suffix(" ");
            value.decor_mut().set_prefix(" ");
            value
                .decor_mut()
                .set_suffix(if index + 1 == count { " " } else { "" });
        }
    }
    if multi_line {
        let trailing = raw(Some(table.trailing()));
        table.set_trailing(strip_line_ends(&trailing));
    } else {
        table.set_trailing("");
    }
}

/// A decor inside a multi-line array or inline table, without trailing whitespace.
fn tidy_decor(decor: &mut Decor) {
    let prefix = raw(decor.prefix());
    let suffix = raw(decor.suffix());
    decor.set_prefix(strip_line_ends(&prefix));
    decor.set_suffix(strip_line_ends(&suffix));
}

/// `text` with the whitespace at the end of each of its lines removed (the text after its last
/// line break, an indentation, is kept).
fn strip_line_ends(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        if lines.peek().is_some() {
            out.push_str(line.trim_end());
            out.push('\n');
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests;
