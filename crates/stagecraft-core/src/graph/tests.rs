//! The graph: cycles name and underline every member (integrity 6: the report used to point at
//! one `depends_on` entry only), and dependencies order apply.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::test_support::TestHost;

const CYCLE: &str = "[project]\nname = \"t\"\n\
[rest_apis.a]\nid = \"abc\"\n\
[rest_apis.a.stages.x]\nrevision = \"1\"\ndepends_on = [\"rest_apis.a.stages.y\"]\n\
[rest_apis.a.stages.y]\nrevision = \"1\"\nvariables = { up = \"${rest_apis.a.stages.z.invoke_url}\" }\n\
[rest_apis.a.stages.z]\nrevision = \"1\"\ndepends_on = [\"rest_apis.a.stages.x\"]\n\
[rest_apis.a.stages.free]\nrevision = \"1\"\ndepends_on = [\"rest_apis.a.stages.x\"]\n";

fn text_at(span: SourceSpan) -> &'static str {
    &CYCLE[span.offset()..span.offset() + span.len()]
}

#[test]
fn a_cycle_labels_every_member_at_its_declaration() {
    let config = stagecraft_config::parse(CYCLE, &TestHost).unwrap();
    let cycles = Graph::build(&config).unwrap_err();
    assert_eq!(cycles.len(), 1);
    let cycle = &cycles[0];
    let names: Vec<String> = cycle.members.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "rest_apis.a.stages.x",
            "rest_apis.a.stages.y",
            "rest_apis.a.stages.z"
        ]
    );
    let error = cycle.to_config_error();
    assert_eq!(error.code, "config::dependency_cycle");
    assert_eq!(
        error.message,
        "dependency cycle: rest_apis.a.stages.x -> rest_apis.a.stages.y -> \
         rest_apis.a.stages.z -> rest_apis.a.stages.x"
    );
    let mut labels = vec![(text_at(error.span), error.label.clone())];
    labels.extend(
        error
            .other_labels
            .iter()
            .map(|(span, label)| (text_at(*span), label.clone())),
    );
    assert_eq!(
        labels,
        [
            (
                "[rest_apis.a.stages.x]",
                "depends on `rest_apis.a.stages.y`"
            ),
            (
                "[rest_apis.a.stages.y]",
                "depends on `rest_apis.a.stages.z`"
            ),
            (
                "[rest_apis.a.stages.z]",
                "depends on `rest_apis.a.stages.x`"
            ),
            ("\"rest_apis.a.stages.y\"", "part of the cycle"),
            (
                "\"${rest_apis.a.stages.z.invoke_url}\"",
                "part of the cycle"
            ),
            ("\"rest_apis.a.stages.x\"", "part of the cycle"),
        ]
        .map(|(text, label)| (text, label.to_string()))
    );
}

#[test]
fn a_canary_depending_on_its_stage_is_no_cycle() {
    let config = stagecraft_config::parse(
        "[project]\nname = \"t\"\n[rest_apis.a]\nid = \"abc\"\n\
         [rest_apis.a.stages.s]\nrevision = \"1\"\n\
         [rest_apis.a.stages.s.canary]\nrevision = \"2\"\n\
         [rest_apis.a.stages.t]\nrevision = \"1\"\ndepends_on = [\"rest_apis.a.stages.s.canary\"]\n",
        &TestHost,
    )
    .unwrap();
    let graph = Graph::build(&config).unwrap();
    let order: Vec<String> = graph
        .topological_order()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        order,
        [
            "rest_apis.a.stages.s",
            "rest_apis.a.stages.s.canary",
            "rest_apis.a.stages.t"
        ]
    );
}
