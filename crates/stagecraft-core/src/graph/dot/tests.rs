//! The DOT text: a snapshot of an example's graph (canary -> stage, references, `depends_on`),
//! stable order (the addresses' order: stages, then canaries, then branches), quoted addresses,
//! and the `--target` closure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use stagecraft_config::Address;

use crate::graph::Graph;
use crate::test_support::config;

const EXAMPLE: &str = r#"
[rest_apis.orders]
id = "a1b2c3d4e5"

[rest_apis.orders.stages.prod]
revision = "2"
depends_on = ["rest_apis.orders.stages.staging"]

[rest_apis.orders.stages.prod.canary]
revision = "3"

[rest_apis.orders.stages.staging]
revision = "2"

[amplify_apps.web]
id = "d1"

[amplify_apps.web.branches."release/1.0"]
environment = { API = "${rest_apis.orders.stages.prod.invoke_url}" }

[amplify_apps.web.branches.main]
"#;

#[test]
fn an_examples_graph_as_dot() {
    let graph = Graph::build(&config(EXAMPLE)).unwrap();
    insta::assert_snapshot!(graph.to_dot(None));
}

#[test]
fn the_dot_text_is_the_same_whatever_the_order_of_the_file() {
    // The same resources declared in another order.
    let reordered = EXAMPLE.replace("[amplify_apps.web.branches.main]\n", "");
    let reordered = reordered.replace(
        "[amplify_apps.web]\nid = \"d1\"\n",
        "[amplify_apps.web]\nid = \"d1\"\n\n[amplify_apps.web.branches.main]\n",
    );
    assert_ne!(reordered, EXAMPLE);
    let a = Graph::build(&config(EXAMPLE)).unwrap().to_dot(None);
    let b = Graph::build(&config(&reordered)).unwrap().to_dot(None);
    assert_eq!(a, b);
}

#[test]
fn a_target_keeps_it_and_what_it_depends_on() {
    let graph = Graph::build(&config(EXAMPLE)).unwrap();
    let target = Address::parse("rest_apis.orders.stages.prod.canary").unwrap();
    let only: BTreeSet<Address> = graph.with_dependencies(&[target]);
    let dot = graph.to_dot(Some(&only));
    assert_eq!(
        dot,
        "digraph stagecraft {\n  rankdir = \"LR\";\n\
         \x20 \"rest_apis.orders.stages.prod\" [shape = box];\n\
         \x20 \"rest_apis.orders.stages.staging\" [shape = box];\n\
         \x20 \"rest_apis.orders.stages.prod.canary\" [shape = diamond];\n\
         \x20 \"rest_apis.orders.stages.prod\" -> \"rest_apis.orders.stages.staging\";\n\
         \x20 \"rest_apis.orders.stages.prod.canary\" -> \"rest_apis.orders.stages.prod\";\n\
         }\n"
    );
}
