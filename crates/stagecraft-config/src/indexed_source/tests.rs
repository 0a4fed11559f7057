//! The indexed source answers every lookup exactly as miette's own `str` source does, for line
//! breaks of every kind and every span inside the text (the only spans a configuration's
//! errors have; miette's own lookup panics on some spans past the end).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::*;

/// What a lookup returned, comparable.
fn contents(
    source: &dyn SourceCode,
    span: SourceSpan,
    before: usize,
    after: usize,
) -> Option<(Vec<u8>, SourceSpan, usize, usize, usize)> {
    let found = source.read_span(&span, before, after).ok()?;
    Some((
        found.data().to_vec(),
        *found.span(),
        found.line(),
        found.column(),
        found.line_count(),
    ))
}

#[test]
fn lines_are_found_as_miette_counts_them() {
    let text = "a\r\nbc\rd\n\ne\r\n";
    let indexed = IndexedSource::new(text.to_string());
    assert_eq!(indexed.line_starts, vec![0, 3, 6, 8, 9, 12]);
    for offset in 0..=text.len() {
        for len in 0..=(text.len() - offset).min(2) {
            for context in 0..3 {
                let span = SourceSpan::new(offset.into(), len);
                assert_eq!(
                    contents(&indexed, span, context, context),
                    contents(&text, span, context, context),
                    "offset {offset}, len {len}, context {context}"
                );
            }
        }
    }
}

proptest! {
    #[test]
    fn every_lookup_matches_miettes(
        text in "[ab\r\n\u{e9}]{0,60}",
        start in any::<prop::sample::Index>(),
        end in any::<prop::sample::Index>(),
        before in 0usize..4,
        after in 0usize..4,
    ) {
        let indexed = IndexedSource::new(text.clone());
        let (a, b) = (start.index(text.len() + 1), end.index(text.len() + 1));
        let span = SourceSpan::new(a.min(b).into(), a.max(b) - a.min(b));
        prop_assert_eq!(
            contents(&indexed, span, before, after),
            contents(&text.as_str(), span, before, after)
        );
    }
}
