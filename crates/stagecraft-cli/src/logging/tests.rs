//! Tests of the log filter: the AWS SDK's and HTTP stack's verbose events are dropped, others
//! are not.

use tracing::Level;

use super::{may_carry_a_body, shown};

#[test]
fn the_sdk_and_http_stack_are_capped_at_info_and_stagecraft_is_not() {
    let cases = [
        (
            "aws_smithy_runtime::client::orchestrator",
            Level::TRACE,
            true,
        ),
        (
            "aws_smithy_runtime::client::orchestrator::http",
            Level::TRACE,
            true,
        ),
        (
            "aws_smithy_runtime::client::orchestrator",
            Level::DEBUG,
            true,
        ),
        ("aws_sigv4::http_request::sign", Level::TRACE, true),
        ("hyper_util::client::legacy::pool", Level::TRACE, true),
        ("h2::codec", Level::DEBUG, true),
        ("reqwest::connect", Level::DEBUG, true),
        (
            "aws_smithy_runtime::client::orchestrator",
            Level::INFO,
            false,
        ),
        ("aws_config::imds::region", Level::WARN, false),
        ("stagecraft_aws::apigateway", Level::TRACE, false),
        ("stagecraft", Level::TRACE, false),
    ];
    for (target, level, dropped) in cases {
        assert_eq!(may_carry_a_body(target, level), dropped, "{target} {level}");
    }
}

#[test]
fn the_sdk_says_nothing_without_dash_v_and_its_warnings_with_it() {
    for target in [
        "aws_config::meta::credentials::chain",
        "aws_smithy_runtime::client::retries",
    ] {
        assert!(!shown(target, Level::WARN, 0), "{target}");
        assert!(!shown(target, Level::INFO, 0), "{target}");
        assert!(shown(target, Level::WARN, 1), "{target}");
        assert!(shown(target, Level::INFO, 1), "{target}");
        assert!(!shown(target, Level::DEBUG, 2), "{target}");
    }
    assert!(shown("stagecraft_cli::commands::apply", Level::WARN, 0));
    assert!(shown("stagecraft_aws::apigateway", Level::TRACE, 0));
}
