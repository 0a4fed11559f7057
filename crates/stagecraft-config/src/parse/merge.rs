//! Several `--config` files as one document: each file's tree has its spans moved to where the
//! file starts in the shared offset space ([`crate::sources::Sources`]), then later files are
//! merged over earlier ones: tables key by key (deeply), `[[moved]]`, `[[removed]]` and `[[import]]`
//! blocks gathered from every file, anything else (strings, numbers, arrays) replaced whole. `[state]`
//! is replaced whole too, since its keys depend on its backend (docs/configuration.md,
//! "Environments").

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

/// The tables a later file replaces whole rather than merges into.
const REPLACED_WHOLE: &[&str] = &["state"];

/// The arrays of tables (blocks) a later file adds to rather than replaces, as Terraform
/// gathers `moved`, `removed` and `import` blocks from every file.
const APPENDED: &[&str] = &["moved", "removed", "import"];

/// `node` with every span moved `by` bytes on.
pub(super) fn shift<'i>(node: Spanned<DeValue<'i>>, by: usize) -> Spanned<DeValue<'i>> {
    let span = node.span();
    let moved = span.start + by..span.end + by;
    let value = match node.into_inner() {
        DeValue::Table(table) => DeValue::Table(shift_table(table, by)),
        DeValue::Array(items) => {
            let mut out = DeArray::new();
            for item in items.iter() {
                out.push(shift(item.clone(), by));
            }
            DeValue::Array(out)
        }
        other => other,
    };
    Spanned::new(moved, value)
}

/// A table with every span of its keys and values moved `by` bytes on.
pub(super) fn shift_table(table: DeTable<'_>, by: usize) -> DeTable<'_> {
    table
        .into_iter()
        .map(|(key, value)| {
            let span = key.span();
            (
                Spanned::new(span.start + by..span.end + by, key.into_inner()),
                shift(value, by),
            )
        })
        .collect()
}

/// Merges `over` into `base`: at the top level, [`REPLACED_WHOLE`] tables are replaced;
/// elsewhere tables merge key by key and other values are replaced. A replaced or added
/// value keeps its own span, so diagnostics point at the file that wrote it.
pub(super) fn merge_document<'i>(base: &mut DeTable<'i>, over: DeTable<'i>) {
    for (key, value) in over {
        if REPLACED_WHOLE.contains(&key.get_ref().as_ref()) {
            base.remove(key.get_ref().as_ref());
            base.insert(key, value);
        } else if APPENDED.contains(&key.get_ref().as_ref())
            && let Some(existing) = base.get_mut(key.get_ref().as_ref())
            && let DeValue::Array(into) = existing.get_mut()
            && let DeValue::Array(from) = value.get_ref()
        {
            for item in from.iter() {
                into.push(item.clone());
            }
        } else {
            merge_entry(base, key, value);
        }
    }
}

fn merge_entry<'i>(
    base: &mut DeTable<'i>,
    key: Spanned<std::borrow::Cow<'i, str>>,
    value: Spanned<DeValue<'i>>,
) {
    if let Some(existing) = base.get_mut(key.get_ref().as_ref())
        && let DeValue::Table(into) = existing.get_mut()
        && matches!(value.get_ref(), DeValue::Table(_))
    {
        if let DeValue::Table(from) = value.into_inner() {
            for (key, value) in from {
                merge_entry(into, key, value);
            }
        }
        return;
    }
    // A key's own span is the one of the file that wrote the value: remove the old entry
    // first, since inserting over it would keep the old key.
    base.remove(key.get_ref().as_ref());
    base.insert(key, value);
}

#[cfg(test)]
mod tests;
