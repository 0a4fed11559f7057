//! Test support for stagecraft: an Amplify control-plane emulator, a fault and quota proxy that
//! sits between the AWS SDK and LocalStack, LocalStack helpers, a router that puts LocalStack and
//! the emulator behind one endpoint, CloudWatch alarms whose state a test sets, and the sandbox
//! built from them (`stagecraft-sandbox`).

pub mod alarms;
pub mod amplify;
pub mod localstack;
pub mod proxy;
pub mod router;
pub mod sandbox;
