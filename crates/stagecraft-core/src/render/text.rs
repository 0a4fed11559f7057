//! The text rendering: Terraform's plan grammar (`+ ~ - >` symbols, a comment header per
//! resource, attribute lines `~ name = old -> new`, maps key by key, long strings as line diffs,
//! unchanged attributes folded), optionally coloured.

use std::fmt::Write as _;

use owo_colors::OwoColorize;
use similar::{ChangeTag, TextDiff};

use super::outputs::push_output_changes;
use super::{
    Attr, Val, attributes, count, counts_words, merge_sorted, push_description, push_quoted,
    quoted_len, short_digest,
};
use crate::plan::{Change, ChangeKind, Plan};

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

/// Applies colour when asked to, and only then. Everything is appended to the output in place:
/// a plan of 100,000 resources has millions of lines, and a `String` per piece of a line was
/// most of the cost of rendering it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Paint {
    ink: Ink,
}

impl Paint {
    /// Change symbols marked with [`MARK`], no colour (for Markdown `diff` blocks).
    pub(super) const MARKED: Paint = Paint { ink: Ink::Marked };

    /// Appends a change symbol in its colour: `+` green, `~` yellow, `-` red, `>` cyan.
    pub(super) fn symbol(self, out: &mut String, kind: ChangeKind) {
        let symbol = kind.symbol();
        // Writing to a String cannot fail.
        let _ = match self.ink {
            Ink::Plain => {
                out.push(symbol);
                Ok(())
            }
            Ink::Marked => {
                out.push(MARK);
                out.push(symbol);
                Ok(())
            }
            Ink::Color => match kind {
                ChangeKind::Create => write!(out, "{}", symbol.green()),
                ChangeKind::Update => write!(out, "{}", symbol.yellow()),
                ChangeKind::Delete => write!(out, "{}", symbol.red()),
                ChangeKind::Promote => write!(out, "{}", symbol.cyan()),
                ChangeKind::Import => {
                    out.push(symbol);
                    Ok(())
                }
            },
        };
    }

    /// Appends bold text.
    pub(super) fn bold(self, out: &mut String, text: &str) {
        if self.ink == Ink::Color {
            let _ = write!(out, "{}", text.bold());
        } else {
            out.push_str(text);
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
        paint.bold(&mut out, "No changes.");
        paint.bold(&mut out, " Your infrastructure matches the configuration.");
        out.push_str("\n\n");
        out.push_str(&no_changes_detail(plan.unchanged));
        out.push('\n');
        let rollouts = rollout_lines(plan);
        if !rollouts.is_empty() {
            out.push('\n');
            paint.bold(&mut out, &rollouts);
        }
        return out;
    }
    // A resource's block is some 400 bytes; reserving up front avoids copying the output over
    // and over as it grows.
    out.reserve(plan.changes.len() * 512);
    // Imports alone have no symbol to explain.
    if plan
        .changes
        .iter()
        .any(|change| change.kind() != ChangeKind::Import)
    {
        out.push_str("Resource actions are indicated with the following symbols:\n");
    }
    for kind in ChangeKind::ALL {
        let meaning = match kind {
            ChangeKind::Create => "create",
            ChangeKind::Update => "update in place",
            ChangeKind::Delete => "destroy",
            ChangeKind::Promote => "promote (a canary's deployment becomes its stage's)",
            // Not in `ALL`: an import has no symbol to explain (Terraform lists none).
            ChangeKind::Import => continue,
        };
        if plan.changes.iter().any(|change| change.kind() == kind) {
            out.push_str("  ");
            paint.symbol(&mut out, kind);
            out.push(' ');
            out.push_str(meaning);
            out.push('\n');
        }
    }
    let resources = !plan.changes.is_empty() || !plan.moves.is_empty() || !plan.forgets.is_empty();
    if !resources {
        // Only outputs change (Terraform's wording).
        push_output_changes(&mut out, plan, paint);
        out.push_str(
            "\nYou can apply this plan to save these new output values to the state, without \
             changing anything in AWS.\n",
        );
        return out;
    }
    out.push_str("\nstagecraft will perform the following actions:\n\n");
    let refactors = refactor_lines(plan);
    if !refactors.is_empty() {
        paint.bold(&mut out, &refactors);
        out.push('\n');
    }
    let rollouts = rollout_lines(plan);
    if !rollouts.is_empty() {
        paint.bold(&mut out, &rollouts);
        out.push('\n');
    }
    for change in &plan.changes {
        push_resource(&mut out, plan, change, paint);
        out.push('\n');
    }
    paint.bold(&mut out, "Plan:");
    let _ = writeln!(out, " {}.", counts_words(&plan.summary()));
    if plan.output_changes().next().is_some() {
        out.push('\n');
        push_output_changes(&mut out, plan, paint);
    }
    out
}

/// The plan's moves and forgets, one `  # ...` line each (Terraform's wording), or nothing.
pub(super) fn refactor_lines(plan: &Plan) -> String {
    let mut out = String::new();
    for moved in &plan.moves {
        let _ = writeln!(out, "  # {} has moved to {}", moved.from, moved.to);
    }
    for address in &plan.forgets {
        let _ = writeln!(
            out,
            "  # {address} will be removed from the state, not destroyed"
        );
    }
    out
}

/// The canaries whose recorded rollout the plan reports, one `  # ...` line each, or nothing
/// (docs/behaviour.md, "Canary rollouts in plans").
pub(super) fn rollout_lines(plan: &Plan) -> String {
    let mut out = String::new();
    for note in &plan.rollouts {
        let _ = writeln!(out, "  # {}", super::rollout::sentence(note));
    }
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
    push_resource(&mut out, plan, change, paint);
    out
}

/// Appends [`resource`]'s text.
fn push_resource(out: &mut String, plan: &Plan, change: &Change, paint: Paint) {
    if paint.ink == Ink::Color {
        // Bold wraps the whole header, so it is built first.
        let mut header = String::new();
        push_header(&mut header, plan, change);
        paint.bold(out, &header);
    } else {
        push_header(out, plan, change);
    }
    out.push('\n');
    // Terraform's line under an imported resource's header.
    if let Some(id) = change.import_id() {
        out.push_str("  # (imported from ");
        push_quoted(out, &id);
        out.push_str(")\n");
    }
    out.push_str("  ");
    paint.symbol(out, change.kind());
    out.push(' ');
    let _ = write!(out, "{}", change.address);
    out.push_str(" {\n");
    let hidden = attribute_lines(out, &attributes(plan, change), paint);
    if hidden > 0 {
        push_spaces(out, 8);
        let _ = writeln!(
            out,
            "# ({} hidden)",
            count(hidden, "unchanged attribute", "unchanged attributes")
        );
    }
    out.push_str("    }\n");
}

/// `  # <address> will <description>`
fn push_header(out: &mut String, plan: &Plan, change: &Change) {
    out.push_str("  # ");
    let _ = write!(out, "{}", change.address);
    out.push_str(" will ");
    push_description(out, plan, change);
}

/// A value for display purposes: `None` for null and for an empty map.
fn shown<'v, 'a>(value: Option<&'v Val<'a>>) -> Option<&'v Val<'a>> {
    value.filter(|value| !value.is_empty_map())
}

/// Appends `text` padded with spaces to `width` characters.
fn push_padded(out: &mut String, text: &str, width: usize) {
    out.push_str(text);
    push_spaces(out, width.saturating_sub(text.chars().count()));
}

/// Appends `n` spaces.
fn push_spaces(out: &mut String, n: usize) {
    // Indents and padding are short: copy them from one string rather than a space at a time.
    const SPACES: &str = "                                ";
    match SPACES.get(..n) {
        Some(spaces) => out.push_str(spaces),
        None => out.extend(std::iter::repeat_n(' ', n)),
    }
}

/// Writes the lines of changed attributes and returns how many unchanged ones were folded.
fn attribute_lines(out: &mut String, attrs: &[Attr<'_>], paint: Paint) -> usize {
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
        let name = Name::Plain {
            text: attr.name,
            width,
        };
        match (before, after) {
            (Some(Val::Map(old)), Some(Val::Map(new))) => {
                map_lines(
                    out,
                    6,
                    name,
                    Some(old.as_slice()),
                    Some(new.as_slice()),
                    paint,
                );
            }
            (None, Some(Val::Map(new))) => {
                map_lines(out, 6, name, None, Some(new.as_slice()), paint)
            }
            (Some(Val::Map(old)), None) => {
                map_lines(out, 6, name, Some(old.as_slice()), None, paint)
            }
            _ => scalar_lines(out, 6, name, before, after, paint),
        }
    }
    hidden
}

/// The name on an attribute line or map element line, padded so that the `=` signs line up.
#[derive(Debug, Clone, Copy)]
enum Name<'n> {
    /// An attribute name, as it is.
    Plain {
        /// The name.
        text: &'n str,
        /// The width to pad to, in characters.
        width: usize,
    },
    /// A map key, quoted.
    Quoted {
        /// The key.
        text: &'n str,
        /// The width of the quoted key to pad to, in characters.
        width: usize,
    },
}

impl Name<'_> {
    fn push(self, out: &mut String) {
        match self {
            Name::Plain { text, width } => push_padded(out, text, width),
            Name::Quoted { text, width } => {
                push_quoted(out, text);
                push_spaces(out, width.saturating_sub(quoted_len(text)));
            }
        }
    }
}

/// The kind of a value's change from whether it was there before and is there after: `+`
/// added, `-` removed, `~` changed.
fn value_change(before: bool, after: bool) -> ChangeKind {
    match (before, after) {
        (false, _) => ChangeKind::Create,
        (_, false) => ChangeKind::Delete,
        _ => ChangeKind::Update,
    }
}

/// A map attribute, key by key, with unchanged elements folded. `indent` is the column of the
/// attribute's symbol.
fn map_lines<'m, 'a>(
    out: &mut String,
    indent: usize,
    name: Name<'_>,
    before: Option<&'m [(&'a str, Val<'a>)]>,
    after: Option<&'m [(&'a str, Val<'a>)]>,
    paint: Paint,
) {
    push_spaces(out, indent);
    paint.symbol(out, value_change(before.is_some(), after.is_some()));
    out.push(' ');
    name.push(out);
    out.push_str(" = {\n");
    let width = entries(before)
        .chain(entries(after))
        .map(|(key, _)| quoted_len(key))
        .max()
        .unwrap_or(0);
    let mut hidden = 0;
    for (key, old, new) in merge_sorted(entries(before), entries(after)) {
        if old.is_some() && old == new {
            hidden += 1;
            continue;
        }
        let key = Name::Quoted { text: key, width };
        scalar_lines(out, indent + 4, key, old, new, paint);
    }
    if hidden > 0 {
        push_spaces(out, indent + 6);
        let _ = writeln!(
            out,
            "# ({} hidden)",
            count(hidden, "unchanged element", "unchanged elements")
        );
    }
    push_spaces(out, indent + 2);
    out.push('}');
    if after.is_none() {
        out.push_str(" -> null");
    }
    out.push('\n');
}

/// The entries of an optional map, as key and value.
fn entries<'m, 'a>(
    map: Option<&'m [(&'a str, Val<'a>)]>,
) -> impl Iterator<Item = (&'a str, &'m Val<'a>)> {
    map.unwrap_or_default()
        .iter()
        .map(|(key, value)| (*key, value))
}

/// Appends a value on one line: quoted strings, masked secrets, `(known after apply)`.
fn push_inline(out: &mut String, value: &Val<'_>) {
    match value {
        Val::Str(text) => push_quoted(out, text),
        Val::Digest(digest) => push_quoted(out, &short_digest(digest)),
        Val::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Val::Num(number) => {
            let _ = write!(out, "{number}");
        }
        Val::Sensitive(_) => out.push_str("(sensitive value)"),
        Val::Unknown => out.push_str("(known after apply)"),
        Val::Map(map) if map.is_empty() => out.push_str("{}"),
        Val::Map(map) => {
            out.push_str("{ ");
            for (index, (key, value)) in map.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                push_quoted(out, key);
                out.push_str(" = ");
                push_inline(out, value);
            }
            out.push_str(" }");
        }
    }
}

/// Whether a string is shown as a line diff: multi-line or longer than [`LONG_STRING`].
fn is_long(text: &str) -> bool {
    // A string has no more characters than bytes: only a long one needs counting.
    text.contains('\n') || (text.len() > LONG_STRING && text.chars().count() > LONG_STRING)
}

/// A plain string value, or `Some("")` for null; `None` when the value is anything else.
fn text_or_null<'a>(value: Option<&Val<'a>>) -> Option<&'a str> {
    match value {
        None => Some(""),
        Some(Val::Str(text)) => Some(text),
        Some(_) => None,
    }
}

/// One scalar attribute or map element. `indent` is the column of its symbol.
fn scalar_lines(
    out: &mut String,
    indent: usize,
    name: Name<'_>,
    before: Option<&Val<'_>>,
    after: Option<&Val<'_>>,
    paint: Paint,
) {
    if before.is_none() && after.is_none() {
        return;
    }
    push_spaces(out, indent);
    paint.symbol(out, value_change(before.is_some(), after.is_some()));
    out.push(' ');
    name.push(out);
    out.push_str(" = ");
    let long = [before, after]
        .into_iter()
        .any(|value| matches!(value, Some(Val::Str(text)) if is_long(text)));
    if long && let (Some(old), Some(new)) = (text_or_null(before), text_or_null(after)) {
        out.push_str("<<-EOT\n");
        line_diff(out, indent + 4, old, new, paint);
        push_spaces(out, indent + 2);
        out.push_str("EOT");
        if after.is_none() {
            out.push_str(" -> null");
        }
        out.push('\n');
        return;
    }
    match (before, after) {
        (None, None) => {}
        (None, Some(new)) => push_inline(out, new),
        (Some(old), None) => {
            push_inline(out, old);
            out.push_str(" -> null");
        }
        (Some(Val::Sensitive(_)), Some(Val::Sensitive(_))) => out.push_str("(sensitive value)"),
        (Some(old), Some(new)) => {
            push_inline(out, old);
            out.push_str(" -> ");
            push_inline(out, new);
        }
    }
    out.push('\n');
}

/// The lines of `old` and `new` as a diff (`-` removed, `+` added, unchanged lines indented).
fn line_diff(out: &mut String, indent: usize, old: &str, new: &str, paint: Paint) {
    let diff = TextDiff::from_lines(old, new);
    for change in diff.iter_all_changes() {
        push_spaces(out, indent);
        match change.tag() {
            ChangeTag::Delete => paint.symbol(out, ChangeKind::Delete),
            ChangeTag::Insert => paint.symbol(out, ChangeKind::Create),
            ChangeTag::Equal => out.push(' '),
        }
        out.push(' ');
        let line = change.value();
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        push_visible(out, line);
        out.push('\n');
    }
}

/// Appends a line of a multi-line value with its control characters (tabs aside) escaped, so
/// that a value can neither drive the terminal nor fake a line of the plan.
fn push_visible(out: &mut String, line: &str) {
    for character in line.chars() {
        if character.is_control() && character != '\t' {
            let _ = write!(out, "\\u{:04x}", u32::from(character));
        } else {
            out.push(character);
        }
    }
}
