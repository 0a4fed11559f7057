//! The dependency graph of the declared resources (petgraph): edges from `depends_on`, from
//! `${...}` references, and from a canary to its stage. It orders apply and finds cycles.

use std::collections::{BTreeSet, HashMap};

use miette::{Diagnostic, LabeledSpan, SourceSpan};
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use stagecraft_config::{Address, AddressRef, Config, ConfigError, ResourceKind, Value};

mod dot;

/// The resources of a configuration and what each depends on.
///
/// Nodes are added in address order, so a node's index orders as its address does: lookups
/// are a binary search over the nodes, and "ties in address order" is the order of indices.
#[derive(Debug, Clone)]
pub struct Graph {
    graph: DiGraph<Address, Vec<SourceSpan>>,
}

/// A dependency cycle, naming every member in order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle: {}", cycle_text(.members))]
pub struct CycleError {
    /// The members, each followed by the one it depends on; the last depends on the first.
    pub members: Vec<Address>,
    /// Where each member is declared (its table's header), in the order of `members`
    /// (empty only if a member were undeclared).
    pub declared: Vec<SourceSpan>,
    /// The `depends_on` entries and references that make the cycle.
    pub spans: Vec<SourceSpan>,
}

fn cycle_text(members: &[Address]) -> String {
    let mut names: Vec<String> = members.iter().map(ToString::to_string).collect();
    if let Some(first) = names.first().cloned() {
        names.push(first);
    }
    names.join(" -> ")
}

const CYCLE_CODE: &str = "config::dependency_cycle";
const CYCLE_HELP: &str = "remove one of the `depends_on` entries or references that form it";

impl CycleError {
    /// Every label of the cycle: each member at its declaration, saying what it depends on,
    /// then each `depends_on` entry and reference that makes it.
    fn labels(&self) -> Vec<(SourceSpan, String)> {
        let next = self.members.iter().cycle().skip(1);
        let members = self
            .declared
            .iter()
            .zip(next)
            .map(|(span, next)| (*span, format!("depends on `{next}`")));
        let edges = self
            .spans
            .iter()
            .map(|span| (*span, "part of the cycle".to_string()));
        members.chain(edges).collect()
    }

    /// The cycle as one of a configuration's errors, to report with the others; it points at
    /// the first member and underlines every other member and edge.
    pub fn to_config_error(&self) -> ConfigError {
        let mut labels = self.labels().into_iter();
        let (span, label) = labels
            .next()
            .unwrap_or_else(|| ((0..0).into(), "part of the cycle".to_string()));
        labels.fold(
            ConfigError::new(CYCLE_CODE, span, self.to_string(), label).with_help(CYCLE_HELP),
            |error, (span, label)| error.with_label(span, label),
        )
    }
}

impl Diagnostic for CycleError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(CYCLE_CODE))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(CYCLE_HELP))
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels().into_iter().map(|(span, label)| {
            LabeledSpan::new_with_span(Some(label), span)
        })))
    }
}

impl Graph {
    /// Builds the graph; every cycle is an error.
    pub fn build(config: &Config) -> Result<Graph, Vec<CycleError>> {
        let mut addresses = config.address_refs();
        addresses.sort_unstable();
        let mut graph = DiGraph::with_capacity(addresses.len(), addresses.len());
        // Names borrowed from the configuration, hashed: the edges below look up two nodes
        // each, and a configuration has one edge or more per resource.
        let mut index: HashMap<AddressRef<'_>, NodeIndex> = HashMap::with_capacity(addresses.len());
        for &address in &addresses {
            index.insert(address, graph.add_node(address.to_address()));
        }
        // Every edge with the span that makes it, in the order they are found; sorted (stably,
        // so each edge keeps its spans in file order) and grouped below.
        let mut edges: Vec<(NodeIndex, NodeIndex, Option<SourceSpan>)> = Vec::new();
        let mut add = |from: AddressRef<'_>, to: AddressRef<'_>, span: Option<SourceSpan>| {
            // Unknown addresses are reported by validation; the graph ignores them.
            if let (Some(&a), Some(&b)) = (index.get(&from), index.get(&to)) {
                edges.push((a, b, span));
            }
        };
        for &address in &addresses {
            if address.kind == ResourceKind::Canary {
                let stage = AddressRef::new(ResourceKind::Stage, address.parent, address.name);
                add(address, stage, None);
            }
        }
        for (from, to, span) in config.depends_on_entries() {
            add(from, to.borrowed(), Some(span));
        }
        for (from, configured) in config.values() {
            if let Value::Text(template) = configured.value {
                for reference in configured.value.references() {
                    add(from, reference.address.borrowed(), Some(template.span));
                }
            }
        }
        edges.sort_by_key(|(from, to, _)| (*from, *to));
        let mut edges = edges.into_iter().peekable();
        while let Some((from, to, span)) = edges.next() {
            let mut spans: Vec<SourceSpan> = span.into_iter().collect();
            while let Some((_, _, span)) = edges.next_if(|(a, b, _)| (*a, *b) == (from, to)) {
                spans.extend(span);
            }
            graph.add_edge(from, to, spans);
        }
        let built = Graph { graph };
        let cycles = built.cycles(config);
        if cycles.is_empty() {
            Ok(built)
        } else {
            Err(cycles)
        }
    }

    /// The node of an address, if declared.
    fn node(&self, address: AddressRef<'_>) -> Option<NodeIndex> {
        self.graph
            .raw_nodes()
            .binary_search_by(|node| node.weight.borrowed().cmp(&address))
            .ok()
            .map(NodeIndex::new)
    }

    fn cycles(&self, config: &Config) -> Vec<CycleError> {
        let mut out = Vec::new();
        for component in tarjan_scc(&self.graph) {
            let self_loop =
                component.len() == 1 && self.graph.find_edge(component[0], component[0]).is_some();
            if component.len() < 2 && !self_loop {
                continue;
            }
            let members: BTreeSet<NodeIndex> = component.iter().copied().collect();
            // Walk the cycle from its smallest address so that the message is stable.
            let Some(start) = component
                .iter()
                .copied()
                .min_by_key(|node| self.graph[*node].clone())
            else {
                continue;
            };
            let mut order = vec![start];
            let mut spans = Vec::new();
            let mut current = start;
            loop {
                let next = self
                    .graph
                    .neighbors(current)
                    .filter(|node| members.contains(node))
                    .min_by_key(|node| {
                        // Prefer closing the cycle, then unvisited members, in address order.
                        (
                            *node != start,
                            order.contains(node),
                            self.graph[*node].clone(),
                        )
                    });
                let Some(next) = next else { break };
                if let Some(edge) = self.graph.find_edge(current, next) {
                    spans.extend(self.graph[edge].iter().copied());
                }
                if next == start || order.contains(&next) {
                    break;
                }
                order.push(next);
                current = next;
            }
            let members: Vec<Address> =
                order.iter().map(|node| self.graph[*node].clone()).collect();
            // Every node is a declared resource, so each has its declaration; were one
            // missing, no member would be labelled rather than the wrong one.
            let declared = members
                .iter()
                .map(|member| config.declared_at(member))
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default();
            out.push(CycleError {
                members,
                declared,
                spans,
            });
        }
        out.sort_by(|a, b| a.members.cmp(&b.members));
        out
    }

    /// What `address` depends on directly.
    pub fn dependencies(&self, address: &Address) -> Vec<Address> {
        let Some(node) = self.node(address.borrowed()) else {
            return Vec::new();
        };
        let mut out: Vec<NodeIndex> = self.graph.neighbors(node).collect();
        // Indices order as addresses do.
        out.sort_unstable();
        out.into_iter().map(|n| self.graph[n].clone()).collect()
    }

    /// `targets` and everything they depend on, transitively.
    pub fn with_dependencies(&self, targets: &[Address]) -> BTreeSet<Address> {
        let mut out = BTreeSet::new();
        let mut stack: Vec<Address> = targets.to_vec();
        while let Some(address) = stack.pop() {
            if out.insert(address.clone()) {
                stack.extend(self.dependencies(&address));
            }
        }
        out
    }

    /// `addresses` and everything that depends on them, transitively (what `--exclude` leaves
    /// out). An address not in the graph (only recorded) is kept as itself.
    pub fn with_dependents(&self, addresses: &[Address]) -> BTreeSet<Address> {
        let mut out = BTreeSet::new();
        let mut stack: Vec<Address> = addresses.to_vec();
        while let Some(address) = stack.pop() {
            let node = self.node(address.borrowed());
            if out.insert(address)
                && let Some(node) = node
            {
                stack.extend(
                    self.graph
                        .neighbors_directed(node, petgraph::Direction::Incoming)
                        .map(|dependent| self.graph[dependent].clone()),
                );
            }
        }
        out
    }

    /// Every address, dependencies before dependents (ties in address order).
    pub fn topological_order(&self) -> Vec<Address> {
        // Kahn's algorithm over node indices, which order as addresses do.
        let mut remaining: Vec<usize> = self
            .graph
            .node_indices()
            .map(|node| self.graph.neighbors(node).count())
            .collect();
        let mut ready: BTreeSet<NodeIndex> = self
            .graph
            .node_indices()
            .filter(|node| remaining[node.index()] == 0)
            .collect();
        let mut out = Vec::with_capacity(remaining.len());
        while let Some(node) = ready.pop_first() {
            for dependent in self
                .graph
                .neighbors_directed(node, petgraph::Direction::Incoming)
            {
                let count = &mut remaining[dependent.index()];
                // A dependent is counted once per edge, and each edge is seen once here.
                *count -= 1;
                if *count == 0 {
                    ready.insert(dependent);
                }
            }
            out.push(self.graph[node].clone());
        }
        out
    }
}

#[cfg(test)]
mod tests;
