//! The IAM action behind each call, so that an `AccessDenied` names what to allow: API
//! Gateway's control plane is authorized by HTTP method (`apigateway:PATCH` for `UpdateStage`,
//! on the resource's ARN), Amplify's and CloudWatch's by operation (`amplify:CreateBranch`,
//! `cloudwatch:DescribeAlarms`). docs/iam.md lists
//! the policies.

/// The service a call's IAM action belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IamService {
    /// `apigateway:<METHOD>`.
    ApiGateway,
    /// `amplify:<Operation>`.
    Amplify,
    /// `cloudwatch:<Operation>`.
    CloudWatch,
}

/// The IAM action AWS checks for `operation` (`UpdateStage`, `CreateBranch`, ...).
pub(crate) fn action(service: IamService, operation: &str) -> String {
    match service {
        IamService::ApiGateway => {
            // API Gateway's operations are named by their method.
            let method = [
                ("Get", "GET"),
                ("Create", "POST"),
                ("Update", "PATCH"),
                ("Delete", "DELETE"),
                ("Flush", "DELETE"),
                ("Put", "PUT"),
            ]
            .into_iter()
            .find(|(prefix, _)| operation.starts_with(prefix))
            .map_or("*", |(_, method)| method);
            format!("apigateway:{method}")
        }
        IamService::Amplify => format!("amplify:{operation}"),
        IamService::CloudWatch => format!("cloudwatch:{operation}"),
    }
}

/// Whether AWS's answer means the caller's policy does not allow the call.
pub(crate) fn is_access_denied(code: Option<&str>, status: u16) -> bool {
    match code {
        Some(code) => matches!(
            code,
            "AccessDeniedException"
                | "AccessDenied"
                | "UnauthorizedException"
                | "UnauthorizedOperation"
        ),
        None => status == 403,
    }
}

/// Whether AWS's answer means it does not accept the credentials themselves.
pub(crate) fn is_refused_credentials(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ExpiredTokenException"
                | "ExpiredToken"
                | "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "InvalidSignatureException"
                | "MissingAuthenticationTokenException"
        )
    )
}

#[cfg(test)]
mod tests;
