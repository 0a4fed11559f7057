//! stagecraft-core.
