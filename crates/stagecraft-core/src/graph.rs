//! The dependency graph of the declared resources (petgraph): edges from `depends_on`, from
//! `${...}` references, and from a canary to its stage. It orders apply and finds cycles.

use std::collections::{BTreeMap, BTreeSet};

use miette::{Diagnostic, LabeledSpan, SourceSpan};
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use stagecraft_config::{Address, Config, Value};

/// The resources of a configuration and what each depends on.
#[derive(Debug, Clone)]
pub struct Graph {
    graph: DiGraph<Address, Vec<SourceSpan>>,
    index: BTreeMap<Address, NodeIndex>,
}

/// A dependency cycle, naming every member in order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle: {}", cycle_text(.members))]
pub struct CycleError {
    /// The members, each followed by the one it depends on; the last depends on the first.
    pub members: Vec<Address>,
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

impl Diagnostic for CycleError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new("config::dependency_cycle"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(
            "remove one of these `depends_on` entries or references to break the cycle",
        ))
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.spans.iter().map(|span| {
            LabeledSpan::new_with_span(Some("part of the cycle".to_string()), *span)
        })))
    }
}

impl Graph {
    /// Builds the graph; every cycle is an error.
    pub fn build(config: &Config) -> Result<Graph, Vec<CycleError>> {
        let mut graph = DiGraph::new();
        let mut index = BTreeMap::new();
        for address in config.addresses() {
            let node = graph.add_node(address.clone());
            index.insert(address, node);
        }
        let mut edges: BTreeMap<(Address, Address), Vec<SourceSpan>> = BTreeMap::new();
        let mut add = |from: &Address, to: &Address, span: Option<SourceSpan>| {
            let spans = edges.entry((from.clone(), to.clone())).or_default();
            spans.extend(span);
        };
        for address in index.keys() {
            if let Some(stage) = address.canary_parent() {
                add(address, &stage, None);
            }
        }
        for (from, to, span) in config.depends_on_entries() {
            add(&from, to, Some(span));
        }
        for (from, configured) in config.values() {
            if let Value::Text(template) = configured.value {
                for reference in configured.value.references() {
                    add(&from, &reference.address, Some(template.span));
                }
            }
        }
        for ((from, to), spans) in edges {
            // Unknown addresses are reported by validation; the graph ignores them.
            if let (Some(&a), Some(&b)) = (index.get(&from), index.get(&to)) {
                graph.add_edge(a, b, spans);
            }
        }
        let built = Graph { graph, index };
        let cycles = built.cycles();
        if cycles.is_empty() {
            Ok(built)
        } else {
            Err(cycles)
        }
    }

    fn cycles(&self) -> Vec<CycleError> {
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
            out.push(CycleError {
                members: order.iter().map(|node| self.graph[*node].clone()).collect(),
                spans,
            });
        }
        out.sort_by(|a, b| a.members.cmp(&b.members));
        out
    }

    /// What `address` depends on directly.
    pub fn dependencies(&self, address: &Address) -> Vec<Address> {
        let Some(&node) = self.index.get(address) else {
            return Vec::new();
        };
        let mut out: Vec<Address> = self
            .graph
            .neighbors(node)
            .map(|n| self.graph[n].clone())
            .collect();
        out.sort();
        out
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

    /// Every address, dependencies before dependents (ties in address order).
    pub fn topological_order(&self) -> Vec<Address> {
        let mut remaining: BTreeMap<Address, usize> = self
            .index
            .iter()
            .map(|(address, node)| (address.clone(), self.graph.neighbors(*node).count()))
            .collect();
        let mut ready: BTreeSet<Address> = remaining
            .iter()
            .filter(|(_, count)| **count == 0)
            .map(|(address, _)| address.clone())
            .collect();
        let mut out = Vec::with_capacity(remaining.len());
        while let Some(address) = ready.pop_first() {
            remaining.remove(&address);
            if let Some(&node) = self.index.get(&address) {
                for dependent in self
                    .graph
                    .neighbors_directed(node, petgraph::Direction::Incoming)
                {
                    let name = &self.graph[dependent];
                    if let Some(count) = remaining.get_mut(name) {
                        *count -= 1;
                        if *count == 0 {
                            ready.insert(name.clone());
                        }
                    }
                }
            }
            out.push(address);
        }
        out
    }
}
