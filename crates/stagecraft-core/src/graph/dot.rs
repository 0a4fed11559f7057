//! The dependency graph as Graphviz DOT (`stagecraft graph`): one node per resource, an edge
//! from each resource to what it depends on (the direction `terraform graph` draws), both in
//! address order so that the text is stable, every address quoted.

use std::collections::BTreeSet;
use std::fmt::Write;

use petgraph::visit::EdgeRef;
use stagecraft_config::{Address, ResourceKind};

use super::Graph;

/// An address as a DOT string (addresses may hold `"` only inside quoted segments).
fn quoted(address: &Address) -> String {
    let text = address.to_string();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn shape(address: &Address) -> &'static str {
    match address.kind() {
        ResourceKind::Stage => "box",
        ResourceKind::Canary => "diamond",
        ResourceKind::Branch => "ellipse",
    }
}

impl Graph {
    /// The graph as DOT. With `only`, just those resources and the edges between them (the
    /// `--target` closure is closed under dependencies, so no edge leaves it).
    pub fn to_dot(&self, only: Option<&BTreeSet<Address>>) -> String {
        let keep = |address: &Address| only.is_none_or(|only| only.contains(address));
        let mut out = String::from("digraph stagecraft {\n  rankdir = \"LR\";\n");
        // Node indices order as addresses do.
        for node in self.graph.node_indices() {
            let address = &self.graph[node];
            if keep(address) {
                let _ = writeln!(out, "  {} [shape = {}];", quoted(address), shape(address));
            }
        }
        let mut edges: Vec<(usize, usize)> = self
            .graph
            .edge_references()
            .map(|edge| (edge.source().index(), edge.target().index()))
            .collect();
        edges.sort_unstable();
        for (from, to) in edges {
            let (from, to) = (
                &self.graph.raw_nodes()[from].weight,
                &self.graph.raw_nodes()[to].weight,
            );
            if keep(from) && keep(to) {
                let _ = writeln!(out, "  {} -> {};", quoted(from), quoted(to));
            }
        }
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
mod tests;
