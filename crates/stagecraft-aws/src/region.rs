//! The region the AWS configuration chain names, read the way the SDK reads it: `AWS_REGION`
//! (or `AWS_DEFAULT_REGION`), then the shared configuration profile, then instance metadata.
//! The CLI asks it once, when neither `--region` nor `[project] region` decides, and hands the
//! answer to every client so that the plan and the calls use one region.

use aws_config::default_provider::region::DefaultRegionChain;

/// The region of the AWS configuration chain for `profile` (`AWS_PROFILE` or `default` when
/// `None`); `None` when nothing in the chain names one.
pub async fn chain_region(profile: Option<&str>) -> Option<String> {
    let mut chain = DefaultRegionChain::builder();
    if let Some(profile) = profile {
        chain = chain.profile_name(profile);
    }
    chain
        .build()
        .region()
        .await
        .map(|region| region.as_ref().to_string())
}
