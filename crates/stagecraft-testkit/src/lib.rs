//! Test support for stagecraft: an Amplify control-plane emulator, a fault and quota proxy that
//! sits between the AWS SDK and LocalStack, and helpers to find the services the tests run against.

pub mod amplify;
pub mod localstack;
pub mod proxy;
