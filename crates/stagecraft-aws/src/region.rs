//! The region the AWS configuration chain names, read the way the SDK reads it: `AWS_REGION`
//! (or `AWS_DEFAULT_REGION`), then the shared configuration profile, then instance metadata
//! (one attempt, bounded as for credentials: off EC2 the SDK's own probe takes seconds).
//! The CLI asks it once, when neither `--region` nor `[project] region` decides, and hands the
//! answer to every client so that the plan and the calls use one region.

use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;

use crate::credentials::bounded_imds;

/// The region of the AWS configuration chain for `profile` (`AWS_PROFILE` or `default` when
/// `None`); `None` when nothing in the chain names one.
pub async fn chain_region(profile: Option<&str>) -> Option<String> {
    let mut from_profile = ProfileFileRegionProvider::builder();
    if let Some(profile) = profile {
        from_profile = from_profile.profile_name(profile);
    }
    RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(from_profile.build())
        .or_else(
            ImdsRegionProvider::builder()
                .imds_client(bounded_imds())
                .build(),
        )
        .region()
        .await
        .map(|region| region.as_ref().to_string())
}
