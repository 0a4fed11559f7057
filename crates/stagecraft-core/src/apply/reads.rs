//! The reads made outside an apply run (`--refresh`, `stagecraft import`, the plan's reads of
//! `[[import]]` targets) under apply's rules (docs/behaviour.md, "Rules for every call"): every
//! API Gateway read takes a token of its lane's request-rate bucket, and an error AWS says to
//! retry (throttling, 5xx, a dropped connection) is retried with jittered backoff, so that a
//! refresh of many APIs neither meets throttling nor fails at the first `TooManyRequests`.

use std::convert::Infallible;
use std::future::Future;

use super::ApplyOptions;
use super::journal::Service;
use super::schedule::{CallKind, Lane, Schedule, uncancelled};
use crate::provider::{LiveApp, LiveBranch, LiveStage, Provider, ProviderResult};

/// A provider's reads, paced and retried.
pub struct PacedReads<'a> {
    provider: &'a dyn Provider,
    schedule: Schedule,
    lane: Lane,
}

impl<'a> PacedReads<'a> {
    /// Reads through `provider` at the rates and with the retries of `options`.
    pub fn new(provider: &'a dyn Provider, options: &ApplyOptions) -> PacedReads<'a> {
        PacedReads {
            provider,
            schedule: Schedule::for_options(options),
            lane: options.lane.clone(),
        }
    }

    /// The provider itself, for what is not a read.
    pub fn provider(&self) -> &'a dyn Provider {
        self.provider
    }

    async fn read<T, F, Fut>(&self, service: Service, send: F) -> ProviderResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ProviderResult<T>>,
    {
        let never_cancelled = |_| Ok::<(), Infallible>(());
        let result = self
            .schedule
            .run(
                &self.lane,
                service,
                CallKind::Other,
                send,
                never_cancelled,
                |_| {},
            )
            .await;
        uncancelled(result)
    }

    /// `GetStages`.
    pub async fn get_stages(&self, rest_api_id: &str) -> ProviderResult<Vec<LiveStage>> {
        self.read(Service::ApiGateway, || {
            self.provider.get_stages(rest_api_id)
        })
        .await
    }

    /// `GetStage`.
    pub async fn get_stage(
        &self,
        rest_api_id: &str,
        stage_name: &str,
    ) -> ProviderResult<Option<LiveStage>> {
        self.read(Service::ApiGateway, || {
            self.provider.get_stage(rest_api_id, stage_name)
        })
        .await
    }

    /// `GetBranch`.
    pub async fn get_branch(
        &self,
        app_id: &str,
        branch_name: &str,
    ) -> ProviderResult<Option<LiveBranch>> {
        self.read(Service::Amplify, || {
            self.provider.get_branch(app_id, branch_name)
        })
        .await
    }

    /// `GetApp`.
    pub async fn get_app(&self, app_id: &str) -> ProviderResult<LiveApp> {
        self.read(Service::Amplify, || self.provider.get_app(app_id))
            .await
    }
}

#[cfg(test)]
mod tests;
