//! The stagecraft binary.
fn main() {}
