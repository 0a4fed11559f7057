//! The pure engine of stagecraft: the dependency graph, the state model and its file format, the
//! plan (a value computed from configuration and state), its renderings, the [`provider::Provider`]
//! trait and the apply scheduler. It never prints and never touches files or the network itself.

pub mod apply;
pub mod graph;
pub mod live;
pub mod plan;
pub mod provider;
pub mod render;
pub mod state;
#[cfg(test)]
mod test_support;
