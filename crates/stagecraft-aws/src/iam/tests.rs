//! IAM actions by operation.

use super::{IamService, action, is_access_denied, is_refused_credentials};

#[test]
fn api_gateway_actions_are_methods_and_amplify_actions_operations() {
    for (operation, expected) in [
        ("GetStage", "apigateway:GET"),
        ("GetStages", "apigateway:GET"),
        ("GetDeployments", "apigateway:GET"),
        ("CreateDeployment", "apigateway:POST"),
        ("CreateStage", "apigateway:POST"),
        ("UpdateStage", "apigateway:PATCH"),
        ("DeleteStage", "apigateway:DELETE"),
    ] {
        assert_eq!(action(IamService::ApiGateway, operation), expected);
    }
    assert_eq!(
        action(IamService::Amplify, "StartDeployment"),
        "amplify:StartDeployment"
    );
    assert_eq!(
        action(IamService::CloudWatch, "DescribeAlarms"),
        "cloudwatch:DescribeAlarms"
    );
}

#[test]
fn access_denied_is_told_from_refused_credentials() {
    assert!(is_access_denied(Some("AccessDeniedException"), 403));
    assert!(is_access_denied(Some("UnauthorizedException"), 401));
    assert!(is_access_denied(None, 403));
    assert!(!is_access_denied(Some("UnrecognizedClientException"), 403));
    assert!(!is_access_denied(Some("NotFoundException"), 404));
    assert!(is_refused_credentials(Some("ExpiredTokenException")));
    assert!(!is_refused_credentials(Some("AccessDeniedException")));
}
