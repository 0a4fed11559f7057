//! The text rendering: Terraform's plan grammar (`+ ~ - >` symbols, a comment header per
//! resource, attribute lines `~ name = old -> new`, maps key by key, long strings as line diffs,
//! unchanged attributes folded), optionally coloured.

use std::collections::BTreeMap;

use owo_colors::OwoColorize;
use similar::{ChangeTag, TextDiff};

use super::{Attr, Val, attributes, count, describe, quote, short_digest};
use crate::plan::{Change, Plan};

/// How the text rendering is styled. The CLI decides: colour only on a terminal, and never
/// under `NO_COLOR` or `--no-color`; the renderer itself never looks at the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextStyle {
    /// Whether to emit ANSI colour and bold escapes.
    pub color: bool,
}

/// Strings longer than this (in characters) are shown as a line diff rather than `old -> new`.
const LONG_STRING: usize = 80;

/// Marks a change symbol for the Markdown renderer, which moves marked symbols to the first
/// column. Control characters never reach the output otherwise (values are escaped), so the mark
/// cannot be confused with a value.
pub(super) const MARK: char = '\u{1}';

/// How symbols and headers are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ink {
    /// Plain text.
    Plain,
    /// ANSI colour and bold.
    Color,
    /// Plain, with each change symbol preceded by [`MARK`].
    Marked,
}

/// Applies colour when asked to, and only then.
#[derive(Debug, Clone, Copy)]
pub(super) struct Paint {
    ink: Ink,
}

impl Paint {
    /// Change symbols marked with [`MARK`], no colour (for Markdown `diff` blocks).
    pub(super) const MARKED: Paint = Paint { ink: Ink::Marked };

    /// A change symbol in its colour: `+` green, `~` yellow, `-` red, `>` cyan.
    fn symbol(self, symbol: char) -> String {
        match self.ink {
            Ink::Plain => symbol.to_string(),
            Ink::Marked => format!("{MARK}{symbol}"),
            Ink::Color => match symbol {
                '+' => symbol.green().to_string(),
                '~' => symbol.yellow().to_string(),
                '-' => symbol.red().to_string(),
                '>' => symbol.cyan().to_string(),
                other => other.to_string(),
            },
        }
    }

    /// Bold text.
    fn bold(self, text: &str) -> String {
        if self.ink == Ink::Color {
            text.bold().to_string()
        } else {
            text.to_string()
        }
    }
}

/// Renders `plan` as Terraform-style text, ending with a newline.
///
/// A plan with changes lists each resource's change and ends with
/// `Plan: X to add, Y to change, Z to destroy.`; an empty plan says
/// `No changes. Your infrastructure matches the configuration.` and how many resources were
/// compared. Sensitive values show as `(sensitive value)`, values AWS assigns during apply as
/// `(known after apply)`.
pub fn text(plan: &Plan, style: TextStyle) -> String {
    let paint = Paint {
        ink: if style.color { Ink::Color } else { Ink::Plain },
    };
    let mut out = String::new();
    if !plan.has_changes() {
        out.push_str(&paint.bold("No changes."));
        out.push_str(&paint.bold(" Your infrastructure matches the configuration."));
        out.push_str("\n\n");
        out.push_str(&no_changes_detail(plan.unchanged));
        out.push('\n');
        return out;
    }
    out.push_str("Resource actions are indicated with the following symbols:\n");
    for (symbol, meaning) in [
        ('+', "create"),
        ('~', "update in place"),
        ('-', "destroy"),
        ('>', "promote (a canary's deployment becomes its stage's)"),
    ] {
        if plan.changes.iter().any(|change| change.symbol() == symbol) {
            out.push_str(&format!("  {} {meaning}\n", paint.symbol(symbol)));
        }
    }
    out.push_str("\nstagecraft will perform the following actions:\n\n");
    for change in &plan.changes {
        out.push_str(&resource(plan, change, paint));
        out.push('\n');
    }
    let summary = plan.summary();
    out.push_str(&paint.bold("Plan:"));
    out.push_str(&format!(
        " {} to add, {} to change, {} to destroy.\n",
        summary.add, summary.change, summary.destroy
    ));
    out
}

/// The sentence under "No changes." saying what was compared.
pub(super) fn no_changes_detail(unchanged: usize) -> String {
    if unchanged == 0 {
        "The configuration declares no resources and the state records none.".to_string()
    } else {
        format!(
            "stagecraft compared the configuration with the recorded state of {} and found no \
             differences, so no changes are needed.",
            count(unchanged, "resource", "resources")
        )
    }
}

/// One resource's change: its comment header and its block of attribute lines.
pub(super) fn resource(plan: &Plan, change: &Change, paint: Paint) -> String {
    let mut out = String::new();
    let header = format!("  # {} will {}", change.address, describe(plan, change));
    out.push_str(&paint.bold(&header));
    out.push('\n');
    let symbol = change.symbol();
    out.push_str(&format!(
        "  {} {} {{\n",
        paint.symbol(symbol),
        change.address
    ));
    let hidden = attribute_lines(&mut out, &attributes(plan, change), paint);
    if hidden > 0 {
        out.push_str(&format!(
            "{}# ({} hidden)\n",
            spaces(8),
            count(hidden, "unchanged attribute", "unchanged attributes")
        ));
    }
    out.push_str("    }\n");
    out
}

/// A value for display purposes: `None` for null and for an empty map.
fn shown(value: Option<&Val>) -> Option<&Val> {
    value.filter(|value| !value.is_empty_map())
}

/// Writes the lines of changed attributes and returns how many unchanged ones were folded.
fn attribute_lines(out: &mut String, attrs: &[Attr], paint: Paint) -> usize {
    let width = attrs
        .iter()
        .filter(|attr| {
            shown(attr.before.as_ref()).is_some() || shown(attr.after.as_ref()).is_some()
        })
        .map(|attr| attr.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut hidden = 0;
    for attr in attrs {
        let before = shown(attr.before.as_ref());
        let after = shown(attr.after.as_ref());
        match (before, after) {
            (None, None) => continue,
            (Some(old), Some(new)) if old == new => {
                hidden += 1;
                continue;
            }
            _ => {}
        }
        let name = format!("{:<width$}", attr.name);
        match (before, after) {
            (Some(Val::Map(old)), Some(Val::Map(new))) => {
                map_lines(out, 6, &name, Some(old), Some(new), paint);
            }
            (None, Some(Val::Map(new))) => map_lines(out, 6, &name, None, Some(new), paint),
            (Some(Val::Map(old)), None) => map_lines(out, 6, &name, Some(old), None, paint),
            _ => scalar_lines(out, 6, &name, before, after, paint),
        }
    }
    hidden
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

/// The symbol of a value's change: `+` added, `-` removed, `~` changed.
fn change_symbol(before: Option<&Val>, after: Option<&Val>) -> char {
    match (before, after) {
        (None, _) => '+',
        (_, None) => '-',
        _ => '~',
    }
}

/// A map attribute, key by key, with unchanged elements folded. `indent` is the column of the
/// attribute's symbol.
fn map_lines(
    out: &mut String,
    indent: usize,
    name: &str,
    before: Option<&BTreeMap<String, Val>>,
    after: Option<&BTreeMap<String, Val>>,
    paint: Paint,
) {
    let symbol = match (before, after) {
        (None, _) => '+',
        (_, None) => '-',
        _ => '~',
    };
    out.push_str(&format!(
        "{}{} {name} = {{\n",
        spaces(indent),
        paint.symbol(symbol)
    ));
    let mut keys: Vec<&String> = before
        .into_iter()
        .chain(after)
        .flat_map(BTreeMap::keys)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let width = keys
        .iter()
        .map(|key| quote(key).chars().count())
        .max()
        .unwrap_or(0);
    let mut hidden = 0;
    for key in keys {
        let old = before.and_then(|map| map.get(key));
        let new = after.and_then(|map| map.get(key));
        if old.is_some() && old == new {
            hidden += 1;
            continue;
        }
        let key = format!("{:<width$}", quote(key));
        scalar_lines(out, indent + 4, &key, old, new, paint);
    }
    if hidden > 0 {
        out.push_str(&format!(
            "{}# ({} hidden)\n",
            spaces(indent + 6),
            count(hidden, "unchanged element", "unchanged elements")
        ));
    }
    let null = if after.is_none() { " -> null" } else { "" };
    out.push_str(&format!("{}}}{null}\n", spaces(indent + 2)));
}

/// A value on one line: quoted strings, masked secrets, `(known after apply)`.
fn inline(value: &Val) -> String {
    match value {
        Val::Str(text) => quote(text),
        Val::Digest(digest) => quote(&short_digest(digest)),
        Val::Bool(flag) => flag.to_string(),
        Val::Num(number) => number.to_string(),
        Val::Sensitive(_) => "(sensitive value)".to_string(),
        Val::Unknown => "(known after apply)".to_string(),
        Val::Map(map) if map.is_empty() => "{}".to_string(),
        Val::Map(map) => {
            let elements: Vec<String> = map
                .iter()
                .map(|(key, value)| format!("{} = {}", quote(key), inline(value)))
                .collect();
            format!("{{ {} }}", elements.join(", "))
        }
    }
}

/// Whether a string is shown as a line diff: multi-line or longer than [`LONG_STRING`].
fn is_long(text: &str) -> bool {
    text.contains('\n') || text.chars().count() > LONG_STRING
}

/// A plain string value, or `Some("")` for null; `None` when the value is anything else.
fn text_or_null(value: Option<&Val>) -> Option<&str> {
    match value {
        None => Some(""),
        Some(Val::Str(text)) => Some(text),
        Some(_) => None,
    }
}

/// One scalar attribute or map element. `indent` is the column of its symbol; `name` is
/// already padded for alignment.
fn scalar_lines(
    out: &mut String,
    indent: usize,
    name: &str,
    before: Option<&Val>,
    after: Option<&Val>,
    paint: Paint,
) {
    let symbol = change_symbol(before, after);
    let lead = format!("{}{} {name} = ", spaces(indent), paint.symbol(symbol));
    let long = [before, after]
        .into_iter()
        .any(|value| matches!(value, Some(Val::Str(text)) if is_long(text)));
    if long && let (Some(old), Some(new)) = (text_or_null(before), text_or_null(after)) {
        out.push_str(&lead);
        out.push_str("<<-EOT\n");
        line_diff(out, indent + 4, old, new, paint);
        let null = if after.is_none() { " -> null" } else { "" };
        out.push_str(&format!("{}EOT{null}\n", spaces(indent + 2)));
        return;
    }
    let value = match (before, after) {
        (None, None) => return,
        (None, Some(new)) => inline(new),
        (Some(old), None) => format!("{} -> null", inline(old)),
        (Some(Val::Sensitive(_)), Some(Val::Sensitive(_))) => "(sensitive value)".to_string(),
        (Some(old), Some(new)) => format!("{} -> {}", inline(old), inline(new)),
    };
    out.push_str(&lead);
    out.push_str(&value);
    out.push('\n');
}

/// The lines of `old` and `new` as a diff (`-` removed, `+` added, unchanged lines indented).
fn line_diff(out: &mut String, indent: usize, old: &str, new: &str, paint: Paint) {
    let diff = TextDiff::from_lines(old, new);
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            ChangeTag::Delete => paint.symbol('-'),
            ChangeTag::Insert => paint.symbol('+'),
            ChangeTag::Equal => " ".to_string(),
        };
        let line = change.value();
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        out.push_str(&format!("{}{sign} {}\n", spaces(indent), visible(line)));
    }
}

/// A line of a multi-line value with its control characters (tabs aside) escaped, so that a
/// value can neither drive the terminal nor fake a line of the plan.
fn visible(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for character in line.chars() {
        if character.is_control() && character != '\t' {
            out.push_str(&format!("\\u{:04x}", u32::from(character)));
        } else {
            out.push(character);
        }
    }
    out
}
