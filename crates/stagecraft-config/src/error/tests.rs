//! Reports: the first [`SHOWN_IN_FULL`] errors print in full and the rest are counted, so a
//! file with thousands of errors renders a bounded report (today every one is printed).
#![allow(clippy::unwrap_used)]

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::*;

fn render(report: &ConfigErrors) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, report)
        .unwrap();
    out
}

/// A file of `count` lines with one error on each.
fn report_with(count: usize) -> ConfigErrors {
    let text: String = (1..=count).map(|n| format!("key_{n:05} = 1\n")).collect();
    let errors = (1..=count)
        .map(|n| {
            let line_start = (n - 1) * "key_00000 = 1\n".len();
            ConfigError::new(
                "config::unknown_key",
                line_start..line_start + 9,
                format!("problem {n:05}"),
                "here",
            )
        })
        .collect();
    ConfigErrors::new("deploy.toml", text, errors)
}

#[test]
fn errors_beyond_the_first_fifty_are_counted_not_printed() {
    let report = report_with(SHOWN_IN_FULL + 12);
    let rendered = render(&report);
    assert!(rendered.contains("62 errors in deploy.toml"), "{rendered}");
    for n in 1..=SHOWN_IN_FULL {
        assert!(
            rendered.contains(&format!("problem {n:05}")),
            "{n}: {rendered}"
        );
    }
    for n in SHOWN_IN_FULL + 1..=SHOWN_IN_FULL + 12 {
        assert!(
            !rendered.contains(&format!("problem {n:05}")),
            "{n}: {rendered}"
        );
    }
    assert!(rendered.contains("... and 12 more errors"), "{rendered}");
    // Every error stays available to callers.
    assert_eq!(report.errors().len(), 62);
}

#[test]
fn fifty_errors_print_without_a_count() {
    let rendered = render(&report_with(SHOWN_IN_FULL));
    assert!(rendered.contains(&format!("problem {SHOWN_IN_FULL:05}")));
    assert!(!rendered.contains("more error"), "{rendered}");
}

#[test]
fn the_count_reads_as_a_number() {
    assert_eq!(MoreErrors(1).to_string(), "... and 1 more error");
    assert_eq!(MoreErrors(15_950).to_string(), "... and 15,950 more errors");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1_000), "1,000");
    assert_eq!(thousands(1_234_567), "1,234,567");
}

#[test]
fn a_further_label_underlines_its_own_span() {
    let text = "[a]\nx = 1\n[b]\ny = 2\n".to_string();
    let error = ConfigError::new("config::dependency_cycle", 0..3, "a cycle", "first")
        .with_label(10..13, "second");
    let rendered = render(&ConfigErrors::new("deploy.toml", text, vec![error]));
    assert!(rendered.contains("first"), "{rendered}");
    assert!(rendered.contains("second"), "{rendered}");
}
