//! `[rest_apis.<api>.stages.<stage>.canary.rollout]`: the steps, bakes, alarms, promotion and
//! poll interval of a progressive canary rollout, every rule checked with its span
//! (docs/configuration.md, "Canary rollouts").

use std::time::Duration;

use toml::de::DeValue;

use super::walker::{Context, Node, Walker, header_span, span};
use crate::error::{ConfigError, did_you_mean};
use crate::model::{DEFAULT_POLL_INTERVAL, Promote, Rollout};
use crate::rules::{self, MAX_ALARMS, MAX_BAKE, MAX_STEP_PERCENT, MAX_STEPS, MIN_ROLLOUT_DURATION};

/// The keys of a rollout table.
pub(super) const ROLLOUT_KEYS: &[&str] = &["steps", "bake", "alarms", "promote", "poll_interval"];

/// The first entry of a rollout table's `steps` as written, if it is a number (its errors are
/// [`Walker::rollout`]'s to report).
pub(super) fn first_step(node: &Node<'_>) -> Option<f64> {
    let DeValue::Table(table) = node.get_ref() else {
        return None;
    };
    let DeValue::Array(steps) = table.get("steps")?.get_ref() else {
        return None;
    };
    match steps.iter().next()?.get_ref() {
        DeValue::Float(float) => float.as_str().parse().ok(),
        DeValue::Integer(integer) if integer.radix() == 10 => integer.as_str().parse().ok(),
        _ => None,
    }
}

impl Walker<'_> {
    pub(super) fn rollout(
        &mut self,
        source: &str,
        stage: &str,
        node: &Node<'_>,
    ) -> Option<Rollout> {
        let context = Context::Rollout { stage };
        let table = self.table(node, "rollout")?;
        self.check_keys(table, ROLLOUT_KEYS, context);
        let steps = self
            .required(source, table, node.span(), "steps", context)
            .and_then(|node| self.steps(node));
        let bakes = self
            .required(source, table, node.span(), "bake", context)
            .and_then(|node| self.bakes(node, steps.as_deref()));
        let alarms = match table.get("alarms") {
            Some(node) => self.alarms(node),
            None => Some(Vec::new()),
        };
        let promote = match table.get("promote") {
            Some(node) => self.promote(node),
            None => Some(Promote::default()),
        };
        let shortest = bakes.as_ref().and_then(|bakes| bakes.iter().min().copied());
        let poll_interval = match table.get("poll_interval") {
            None => Some(shortest.map_or(DEFAULT_POLL_INTERVAL, |bake| {
                bake.min(DEFAULT_POLL_INTERVAL)
            })),
            Some(node) => {
                let interval = self.duration(node, "poll_interval", None)?;
                match shortest {
                    Some(bake) if interval > bake => {
                        self.error(
                            ConfigError::new(
                                "config::poll_interval_too_long",
                                span(node.span()),
                                format!(
                                    "`poll_interval` ({}) is longer than the shortest bake ({}): that bake would end unchecked",
                                    humantime::format_duration(interval),
                                    humantime::format_duration(bake)
                                ),
                                "longer than a bake",
                            )
                            .with_help("poll at least once per bake: make `poll_interval` at most the shortest bake"),
                        );
                        None
                    }
                    _ => Some(interval),
                }
            }
        };
        Some(Rollout {
            steps: steps?,
            bakes: bakes?,
            alarms: alarms?,
            promote: promote?,
            poll_interval: poll_interval?,
            span: header_span(source, node.span()),
        })
    }

    /// `steps = [5, 25, 50]`: at least one, at most [`MAX_STEPS`], each in (0, 100], rising.
    fn steps(&mut self, node: &Node<'_>) -> Option<Vec<f64>> {
        let DeValue::Array(items) = node.get_ref() else {
            self.wrong_type(node, "steps", "an array of percentages");
            return None;
        };
        if items.is_empty() {
            self.error(
                ConfigError::new(
                    "config::no_steps",
                    span(node.span()),
                    "a rollout needs at least one step",
                    "no steps",
                )
                .with_help("write the canary's percent of traffic at each step, e.g. `steps = [5, 25, 50]`"),
            );
            return None;
        }
        if items.len() > MAX_STEPS {
            self.error(ConfigError::new(
                "config::too_many_steps",
                span(node.span()),
                format!(
                    "a rollout has {} steps; at most {MAX_STEPS} are allowed",
                    items.len()
                ),
                "too many steps",
            ));
        }
        let mut steps = Vec::with_capacity(items.len());
        let mut ok = items.len() <= MAX_STEPS;
        let mut previous: Option<f64> = None;
        for item in items.iter() {
            let Some(percent) = self.number(item, "steps entry") else {
                ok = false;
                continue;
            };
            if !(percent > 0.0 && percent <= MAX_STEP_PERCENT) {
                self.error(ConfigError::new(
                    "config::out_of_range",
                    span(item.span()),
                    format!(
                        "a rollout step must be above 0 and at most 100 percent, not {percent}"
                    ),
                    "out of range",
                ));
                ok = false;
            } else if let Some(before) = previous
                && percent <= before
            {
                self.error(
                    ConfigError::new(
                        "config::steps_not_rising",
                        span(item.span()),
                        format!("rollout step {percent}% does not rise above the step before it ({before}%)"),
                        "not above the step before",
                    )
                    .with_help("each step sends more traffic to the canary than the one before"),
                );
                ok = false;
            }
            if percent > 0.0 && percent <= MAX_STEP_PERCENT {
                previous = Some(percent);
            }
            steps.push(percent);
        }
        ok.then_some(steps)
    }

    /// `bake = "10m"` (every step) or `bake = ["5m", "10m", "15m"]` (one per step).
    fn bakes(&mut self, node: &Node<'_>, steps: Option<&[f64]>) -> Option<Vec<Duration>> {
        match node.get_ref() {
            DeValue::String(_) => {
                let bake = self.duration(node, "bake", Some(MAX_BAKE))?;
                Some(vec![bake; steps.map_or(1, <[f64]>::len)])
            }
            DeValue::Array(items) => {
                let mut bakes = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items.iter() {
                    match self.duration(item, "bake", Some(MAX_BAKE)) {
                        Some(bake) => bakes.push(bake),
                        None => ok = false,
                    }
                }
                if let Some(steps) = steps
                    && steps.len() != items.len()
                {
                    self.error(
                        ConfigError::new(
                            "config::bake_count",
                            span(node.span()),
                            format!(
                                "`bake` lists {} durations for {} steps",
                                items.len(),
                                steps.len()
                            ),
                            "one duration per step",
                        )
                        .with_help("write one bake per step, or a single duration for every step"),
                    );
                    ok = false;
                }
                ok.then_some(bakes)
            }
            _ => {
                self.wrong_type(
                    node,
                    "bake",
                    "a duration or an array of durations, one per step",
                );
                None
            }
        }
    }

    /// A duration string (humantime: `"10m"`, `"500ms"`), at least [`MIN_ROLLOUT_DURATION`] and
    /// at most `max`.
    fn duration(&mut self, node: &Node<'_>, what: &str, max: Option<Duration>) -> Option<Duration> {
        let DeValue::String(_) = node.get_ref() else {
            self.wrong_type(node, what, "a duration such as \"10m\" or \"500ms\"");
            return None;
        };
        let text = self.string(node, what)?;
        match humantime::parse_duration(&text) {
            Ok(duration) if duration < MIN_ROLLOUT_DURATION => {
                self.error(ConfigError::new(
                    "config::out_of_range",
                    span(node.span()),
                    format!("`{what}` must be at least 1ms, not `{text}`"),
                    "too short",
                ));
                None
            }
            Ok(duration) if max.is_some_and(|max| duration > max) => {
                self.error(ConfigError::new(
                    "config::out_of_range",
                    span(node.span()),
                    format!("`{what}` must be at most 7 days, not `{text}`"),
                    "too long",
                ));
                None
            }
            Ok(duration) => Some(duration),
            Err(error) => {
                self.error(
                    ConfigError::new(
                        "config::invalid_duration",
                        span(node.span()),
                        format!("`{text}` is not a duration: {error}"),
                        "not a duration",
                    )
                    .with_help("write a duration such as \"10m\", \"30s\" or \"500ms\""),
                );
                None
            }
        }
    }

    /// `alarms = ["orders-5xx"]`: CloudWatch alarm names, at most [`MAX_ALARMS`], none twice.
    fn alarms(&mut self, node: &Node<'_>) -> Option<Vec<String>> {
        let DeValue::Array(items) = node.get_ref() else {
            self.wrong_type(node, "alarms", "an array of CloudWatch alarm names");
            return None;
        };
        let mut ok = true;
        if items.len() > MAX_ALARMS {
            self.error(
                ConfigError::new(
                    "config::too_many_alarms",
                    span(node.span()),
                    format!("a rollout lists {} alarms; at most {MAX_ALARMS} are allowed", items.len()),
                    "too many alarms",
                )
                .with_help("DescribeAlarms reads at most 100 alarm names at once: combine alarms into a composite alarm"),
            );
            ok = false;
        }
        let mut alarms: Vec<String> = Vec::with_capacity(items.len());
        for item in items.iter() {
            let Some(name) = self.string(item, "alarms entry") else {
                ok = false;
                continue;
            };
            if !self.rule(item.span(), "alarm name", &name, &rules::ALARM_NAME) {
                ok = false;
            } else if alarms.contains(&name) {
                self.error(ConfigError::new(
                    "config::duplicate_alarm",
                    span(item.span()),
                    format!("alarm `{}` is listed twice", rules::shorten(&name)),
                    "listed before",
                ));
                ok = false;
            }
            alarms.push(name);
        }
        ok.then_some(alarms)
    }

    /// `promote = "auto" | "manual"`.
    fn promote(&mut self, node: &Node<'_>) -> Option<Promote> {
        let text = self.string(node, "promote")?;
        let promote = Promote::parse(&text);
        if promote.is_none() {
            let spellings = Promote::ALL.iter().map(|(_, text)| *text);
            self.error(
                ConfigError::new(
                    "config::invalid_promote",
                    span(node.span()),
                    format!("`{}` is not a way to promote", rules::shorten(&text)),
                    "expected \"auto\" or \"manual\"",
                )
                .with_help(did_you_mean(&text, spellings).unwrap_or_else(|| {
                    "`promote` is \"auto\" (promote after the last bake) or \"manual\" (wait for `stagecraft rollout promote`)".to_string()
                })),
            );
        }
        promote
    }

    /// A decimal integer or a float.
    pub(super) fn number(&mut self, node: &Node<'_>, what: &str) -> Option<f64> {
        match node.get_ref() {
            DeValue::Float(float) => float.as_str().parse::<f64>().ok(),
            DeValue::Integer(integer) if integer.radix() == 10 => {
                integer.as_str().parse::<f64>().ok()
            }
            _ => {
                self.wrong_type(node, what, "a number");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
