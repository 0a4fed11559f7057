//! stagecraft-aws.
