//! `stagecraft schema`: the JSON Schema (draft 2020-12) of deploy.toml, for editors (taplo,
//! Even Better TOML) and CI. Its patterns, lengths and enums come from the validation's own
//! data ([`rules`], [`CacheSize::ALL`], [`AmplifyStage::ALL`], [`MAX_STAGES_PER_API`]); the
//! tables' keys are the walker's (a test probes the walker for each table's allowed keys and
//! compares). Where the walker refuses an unknown key, so does the schema
//! (`additionalProperties: false`).
//!
//! What a schema cannot say is left to `stagecraft validate`: references to undeclared
//! resources, dependency cycles, missing environment variables, artifacts that do not exist.

use serde_json::{Map, Value as Json, json};

use crate::model::{
    AmplifyStage, AwsSettings, CacheSize, DEFAULT_POLL_INTERVAL, DEFAULT_STATE_PATH, Promote,
};
use crate::rules::{
    self, MAX_ATTEMPTS, MAX_STAGES_PER_API, MAX_VARIABLES, REQUEST_BURST, REQUESTS_PER_SECOND, Rule,
};

/// The `$id` the schema names itself by.
pub const SCHEMA_ID: &str = "https://stagecraft.invalid/deploy.schema.json";

/// A string that obeys `rule`: its characters as a pattern, its length as `minLength` and
/// `maxLength` (both count characters, as the rule does), a reserved prefix as a `not`.
fn rule_string(rule: &Rule, description: &str) -> Json {
    let mut schema = json!({
        "type": "string",
        "description": format!("{description} ({})", rule.help),
        "minLength": rule.min,
        "maxLength": rule.max,
        "pattern": format!("^{}*$", rule.chars.pattern_class()),
    });
    if let Some((prefix, _)) = rule.reserved_prefix {
        schema["not"] = json!({ "pattern": format!("^{}", regex_literal(prefix)) });
    }
    schema
}

/// `text` as a regular expression matching itself.
fn regex_literal(text: &str) -> String {
    text.chars()
        .map(|c| {
            if "\\^$.|?*+()[]{}/-".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A table whose keys obey `key_rule` and whose values are `values`.
fn map_of(description: &str, key_rule: &Rule, key_what: &str, values: Json) -> Json {
    json!({
        "type": "object",
        "description": description,
        "propertyNames": rule_string(key_rule, key_what),
        "additionalProperties": values,
    })
}

/// A table with exactly these keys (`required` among them).
fn object(description: &str, properties: Json, required: &[&str]) -> Json {
    let mut schema = json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// A boolean that is false unless set.
fn boolean(description: &str) -> Json {
    json!({ "type": "boolean", "description": description, "default": false })
}

/// A value: a string (whose literal text obeys `rule`; one with `${...}` references is checked
/// when the references are resolved) or `{ env = "NAME" }`.
fn value(rule: &Rule, description: &str) -> Json {
    json!({
        "description": description,
        "anyOf": [
            rule_string(rule, "a literal value"),
            {
                "type": "string",
                "description": "a value with `${address.attribute}` references",
                "pattern": "(^|[^$])\\$\\{[^}]+\\}",
            },
            { "$ref": "#/$defs/env_reference" },
        ],
    })
}

/// humantime's durations (`"5s"`, `"1500ms"`, `"1m 30s"`, `"1.5s"`): numbers, each with a unit
/// (humantime also skips spaces inside a number: `"15 00ms"` is 1500 ms).
pub const DURATION_PATTERN: &str = "^\\s*([0-9][0-9\\s]*(\\.[0-9\\s]*[0-9][0-9\\s]*)?(nanos|nsec|ns|usec|us|µs|millis|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|wks|wk|w|months|month|M|years|year|yrs|yr|y)\\s*)+$";

/// A resource address (`rest_apis.<api>.stages.<stage>[.canary]`,
/// `amplify_apps.<app>.branches.<branch>`), a segment quoted when it holds a dot.
pub const ADDRESS_PATTERN: &str = "^(rest_apis\\.([^.\"]+|\"[^\"]*\")\\.stages\\.([^.\"]+|\"[^\"]*\")(\\.canary)?|amplify_apps\\.([^.\"]+|\"[^\"]*\")\\.branches\\.([^.\"]+|\"[^\"]*\"))$";

fn depends_on() -> Json {
    json!({
        "type": "array",
        "description": "Resources to apply before this one, by address.",
        "items": {
            "type": "string",
            "description": "`rest_apis.<api>.stages.<stage>[.canary]` or `amplify_apps.<app>.branches.<branch>`",
            "pattern": ADDRESS_PATTERN,
        },
    })
}

fn variables(description: &str) -> Json {
    let mut schema = map_of(
        description,
        &rules::VARIABLE_NAME,
        "a stage variable name",
        value(&rules::VARIABLE_VALUE, "a stage variable value"),
    );
    schema["maxProperties"] = json!(MAX_VARIABLES);
    schema
}

fn cache_size() -> Json {
    let sizes: Vec<&str> = CacheSize::ALL.iter().map(|(_, text)| *text).collect();
    let numbers: Vec<Json> = sizes
        .iter()
        .filter_map(|text| text.parse::<f64>().ok())
        .map(|number| json!(number))
        .collect();
    json!({
        "description": format!("The stage cache's size in GB: one of {}.", sizes.join(", ")),
        "anyOf": [
            { "type": "string", "enum": sizes },
            { "type": "number", "enum": numbers },
        ],
    })
}

fn project() -> Json {
    object(
        "The project: its name and default region.",
        json!({
            "name": rule_string(&rules::PROJECT_NAME, "The project's name"),
            "region": rule_string(&rules::REGION, "The AWS region (the `--region` flag and the AWS configuration chain come after it)"),
        }),
        &["name"],
    )
}

fn state() -> Json {
    let backend = |description: &str| {
        json!({
            "type": "string",
            "enum": ["local", "s3"],
            "description": description,
            "default": "local",
        })
    };
    json!({
        "type": "object",
        "description": "Where the state is kept: a local file (the default) or an S3 object.",
        "properties": { "backend": backend("`local` (the default) or `s3`.") },
        "if": { "properties": { "backend": { "const": "s3" } }, "required": ["backend"] },
        "then": object(
            "The S3 backend.",
            json!({
                "backend": backend("`s3`."),
                "bucket": { "type": "string", "minLength": 1, "description": "The bucket." },
                "key": { "type": "string", "minLength": 1, "description": "The object key." },
                "region": rule_string(&rules::REGION, "The bucket's region"),
            }),
            &["bucket", "key"],
        ),
        "else": object(
            "The local backend.",
            json!({
                "backend": backend("`local`."),
                "path": {
                    "type": "string",
                    "description": "The state file, relative to the configuration file.",
                    "default": DEFAULT_STATE_PATH,
                },
            }),
            &[],
        ),
    })
}

fn aws() -> Json {
    let defaults = AwsSettings::default();
    object(
        "How stagecraft calls AWS.",
        json!({
            "create_deployment_interval": {
                "type": "string",
                "description": "The least time between two CreateDeployment calls, e.g. \"5s\" or \"1500ms\".",
                "pattern": DURATION_PATTERN,
                "default": humantime::format_duration(defaults.create_deployment_interval).to_string(),
            },
            "max_attempts": {
                "type": "integer",
                "description": "How many times a call is tried before it fails.",
                "minimum": MAX_ATTEMPTS.start(),
                "maximum": MAX_ATTEMPTS.end(),
                "default": defaults.max_attempts,
            },
            "requests_per_second": {
                "type": "integer",
                "description": "API Gateway calls a second per account and region, reads included (AWS: 10).",
                "minimum": REQUESTS_PER_SECOND.start(),
                "maximum": REQUESTS_PER_SECOND.end(),
                "default": defaults.requests_per_second,
            },
            "request_burst": {
                "type": "integer",
                "description": "API Gateway calls that may go at once before that rate applies (AWS: 40).",
                "minimum": REQUEST_BURST.start(),
                "maximum": REQUEST_BURST.end(),
                "default": defaults.request_burst,
            },
        }),
        &[],
    )
}

/// `[variables.<name>]`: an input variable's declaration.
fn variable() -> Json {
    object(
        "An input variable, used as `${var.NAME}` anywhere a string goes. Its value: the default, then STAGECRAFT_VAR_NAME, then each --var-file, then each --var NAME=VALUE.",
        json!({
            "default": { "type": "string", "description": "The value when none is given." },
            "description": { "type": "string", "description": "What the variable is for." },
            "sensitive": boolean("Masked in every output and digested in the state; usable only as a whole stage variable, override, environment or basic-auth value."),
        }),
        &[],
    )
}

/// `[outputs] NAME = ...`: a template, or a table with it.
fn output() -> Json {
    let value = json!({
        "type": "string",
        "description": "A template: text with `${ADDRESS.ATTRIBUTE}` and `${var.NAME}` references, worked out after apply.",
    });
    json!({
        "description": "A value shown after apply and by `stagecraft output`.",
        "oneOf": [
            value.clone(),
            object(
                "An output with its settings.",
                json!({
                    "value": value,
                    "sensitive": boolean("Shown as (sensitive value) everywhere and never recorded; required when the value uses a sensitive variable."),
                    "description": { "type": "string", "description": "What the output is for." },
                }),
                &["value"],
            ),
        ],
    })
}

/// `[rest_apis.<key>.defaults]`
fn stage_defaults() -> Json {
    object(
        "What every stage of this API inherits: a stage's own key wins, `variables` merge key by key.",
        json!({
            "description": { "type": "string", "description": "The stages' description." },
            "tracing": boolean("X-Ray tracing."),
            "variables": variables("Stage variables, merged under each stage's own."),
            "cache_size": cache_size(),
        }),
        &[],
    )
}

fn rest_api() -> Json {
    let mut stages = map_of(
        "The API's stages, by stage name.",
        &rules::STAGE_NAME,
        "an API Gateway stage name",
        json!({ "$ref": "#/$defs/stage" }),
    );
    stages["maxProperties"] = json!(MAX_STAGES_PER_API);
    object(
        "A REST API (made outside stagecraft) whose stages stagecraft deploys.",
        json!({
            "id": rule_string(&rules::REST_API_ID, "The REST API's id"),
            "defaults": stage_defaults(),
            "stages": stages,
        }),
        &["id"],
    )
}

fn stage() -> Json {
    object(
        "An API Gateway stage.",
        json!({
            "revision": rule_string(&rules::REVISION, "The revision deployed: a new one makes a new deployment"),
            "description": { "type": "string", "description": "The stage's description." },
            "tracing": boolean("X-Ray tracing."),
            "variables": variables("Stage variables."),
            "cache_size": cache_size(),
            "canary": { "$ref": "#/$defs/canary" },
            "depends_on": depends_on(),
            "prevent_destroy": boolean("Refuse a plan that would delete this stage."),
        }),
        &["revision"],
    )
}

fn canary() -> Json {
    object(
        "The stage's canary: a share of its traffic sent to another revision.",
        json!({
            "revision": rule_string(&rules::REVISION, "The canary's revision"),
            "percent_traffic": {
                "type": "number",
                "description": "The share of traffic the canary receives, 0.0 to 100.0.",
                "minimum": 0,
                "maximum": 100,
                "default": 0,
            },
            "variable_overrides": variables("Stage variables overridden for the canary."),
            "use_stage_cache": boolean("Whether the canary uses the stage's cache."),
            "prevent_destroy": boolean("Refuse a plan that would remove this canary."),
            "rollout": { "$ref": "#/$defs/rollout" },
        }),
        &["revision"],
    )
}

/// A duration of a rollout (humantime's spelling; at least 1 ms, which a pattern cannot say).
fn rollout_duration(description: &str) -> Json {
    json!({ "type": "string", "description": description, "pattern": DURATION_PATTERN })
}

/// `[...canary.rollout]`. Rising steps, one bake per step, `percent_traffic` equal to the first
/// step and a poll interval within the shortest bake are left to `stagecraft validate`.
fn rollout() -> Json {
    object(
        "A progressive rollout of the canary: traffic moves through `steps`, each baked while `alarms` are polled; any alarm in ALARM rolls the canary back.",
        json!({
            "steps": {
                "type": "array",
                "description": "The canary's percent of traffic at each step, rising, each above 0 and at most 100; the first is the canary's `percent_traffic`.",
                "minItems": 1,
                "maxItems": rules::MAX_STEPS,
                "items": { "type": "number", "exclusiveMinimum": 0, "maximum": rules::MAX_STEP_PERCENT },
            },
            "bake": {
                "description": "How long each step bakes: one duration for every step, or one per step (at least 1ms, at most 7 days each).",
                "anyOf": [
                    rollout_duration("every step's bake, e.g. \"10m\""),
                    {
                        "type": "array",
                        "description": "one bake per step",
                        "minItems": 1,
                        "items": rollout_duration("a step's bake"),
                    },
                ],
            },
            "alarms": {
                "type": "array",
                "description": "CloudWatch alarms (names, in the API's region) polled during each bake; one in ALARM rolls back.",
                "maxItems": rules::MAX_ALARMS,
                "uniqueItems": true,
                "items": rule_string(&rules::ALARM_NAME, "A CloudWatch alarm name"),
                "default": [],
            },
            "promote": {
                "type": "string",
                "description": "After the last bake: \"auto\" promotes the canary, \"manual\" waits for `stagecraft rollout promote`.",
                "enum": Promote::ALL.iter().map(|(_, text)| *text).collect::<Vec<_>>(),
                "default": Promote::default().as_str(),
            },
            "poll_interval": {
                "type": "string",
                "description": "How often alarms are read during a bake, at most the shortest bake (default: 30s, or the shortest bake when shorter).",
                "pattern": DURATION_PATTERN,
                "default": humantime::format_duration(DEFAULT_POLL_INTERVAL).to_string(),
            },
        }),
        &["steps", "bake"],
    )
}

fn amplify_app() -> Json {
    object(
        "An Amplify app (made outside stagecraft) whose branches stagecraft deploys.",
        json!({
            "id": rule_string(&rules::AMPLIFY_APP_ID, "The Amplify app's id"),
            "defaults": branch_defaults(),
            "branches": map_of(
                "The app's branches, by branch name.",
                &rules::BRANCH_NAME,
                "an Amplify branch name",
                json!({ "$ref": "#/$defs/branch" }),
            ),
        }),
        &["id"],
    )
}

/// `[amplify_apps.<key>.defaults]`: the branch keys a defaults table may hold.
fn branch_defaults() -> Json {
    let branch = branch();
    let mut properties = Map::new();
    for key in [
        "stage",
        "framework",
        "description",
        "environment",
        "basic_auth",
    ] {
        properties.insert(key.into(), branch["properties"][key].clone());
    }
    object(
        "What every branch of this app inherits: a branch's own key wins, `environment` merges key by key.",
        Json::Object(properties),
        &[],
    )
}

fn branch() -> Json {
    let stages: Vec<&str> = AmplifyStage::ALL.iter().map(|(_, name)| *name).collect();
    object(
        "An Amplify branch, deployed from an artifact.",
        json!({
            "stage": { "type": "string", "enum": stages, "description": "The branch's stage." },
            "description": rule_string(&rules::BRANCH_DESCRIPTION, "The branch's description"),
            "framework": rule_string(&rules::FRAMEWORK, "The framework label"),
            "environment": map_of(
                "The branch's environment variables.",
                &rules::AMPLIFY_ENV_NAME,
                "an Amplify environment variable name",
                value(&rules::AMPLIFY_ENV_VALUE, "an environment variable's value"),
            ),
            "basic_auth": object(
                "Basic authentication in front of the branch.",
                json!({
                    "username": value(&rules::BASIC_AUTH_PART, "The user name."),
                    "password": value(&rules::BASIC_AUTH_PART, "The password (use `{ env = \"NAME\" }`)."),
                }),
                &["username", "password"],
            ),
            "artifact": {
                "type": "string",
                "description": "A folder (zipped with its contents at the root) or a .zip file, relative to the configuration file.",
            },
            "depends_on": depends_on(),
            "prevent_destroy": boolean("Refuse a plan that would delete this branch."),
        }),
        &[],
    )
}

/// The schema.
pub fn schema() -> Json {
    let mut defs = Map::new();
    defs.insert("project".into(), project());
    defs.insert("variable".into(), variable());
    defs.insert("output".into(), output());
    defs.insert("state".into(), state());
    defs.insert("aws".into(), aws());
    defs.insert("rest_api".into(), rest_api());
    defs.insert("stage".into(), stage());
    defs.insert("canary".into(), canary());
    defs.insert("rollout".into(), rollout());
    defs.insert("amplify_app".into(), amplify_app());
    defs.insert("branch".into(), branch());
    defs.insert(
        "env_reference".into(),
        object(
            "A value read from an environment variable when stagecraft runs; sensitive.",
            json!({ "env": rule_string(&rules::ENV_NAME, "The environment variable's name") }),
            &["env"],
        ),
    );
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "stagecraft deploy.toml",
        "description": "The desired state of API Gateway stages and Amplify branches (docs/configuration.md).",
        "type": "object",
        "properties": {
            "project": { "$ref": "#/$defs/project" },
            "variables": map_of(
                "Input variables, by name.",
                &rules::INPUT_VARIABLE_NAME,
                "an input variable name",
                json!({ "$ref": "#/$defs/variable" }),
            ),
            "outputs": map_of(
                "Outputs, by name: shown after apply and by `stagecraft output`.",
                &rules::OUTPUT_NAME,
                "an output name",
                json!({ "$ref": "#/$defs/output" }),
            ),
            "state": { "$ref": "#/$defs/state" },
            "aws": { "$ref": "#/$defs/aws" },
            "rest_apis": map_of(
                "REST APIs, by key (the key appears in addresses).",
                &rules::RESOURCE_KEY,
                "a REST API key",
                json!({ "$ref": "#/$defs/rest_api" }),
            ),
            "amplify_apps": map_of(
                "Amplify apps, by key (the key appears in addresses).",
                &rules::RESOURCE_KEY,
                "an Amplify app key",
                json!({ "$ref": "#/$defs/amplify_app" }),
            ),
            "moved": {
                "type": "array",
                "description": "Re-keys what the state records at `from` to `to`, with no AWS call.",
                "items": object(
                    "A [[moved]] block.",
                    json!({
                        "from": { "type": "string", "description": "The old address (a resource, `rest_apis.<key>` or `amplify_apps.<key>`), no longer declared." },
                        "to": { "type": "string", "description": "The new address, declared in this file." },
                    }),
                    &["from", "to"],
                ),
            },
            "removed": {
                "type": "array",
                "description": "Takes what the state records at `from` out of stagecraft's hands.",
                "items": object(
                    "A [[removed]] block.",
                    json!({
                        "from": { "type": "string", "description": "The address (a resource, `rest_apis.<key>` or `amplify_apps.<key>`), no longer declared." },
                        "destroy": { "type": "boolean", "description": "false: forget it and leave it running; true: delete it." },
                    }),
                    &["from", "destroy"],
                ),
            },
            "import": {
                "type": "array",
                "description": "Takes a declared stage, canary or branch that already runs in AWS into the state: planned (`# X will be imported`) and applied like any change, with no mutating AWS call.",
                "items": object(
                    "An [[import]] block (no `id`: the address names the AWS resource through this file).",
                    json!({
                        "to": { "type": "string", "pattern": ADDRESS_PATTERN, "description": "The address of a stage, canary or branch declared in this file." },
                    }),
                    &["to"],
                ),
            },
        },
        "required": ["project"],
        "additionalProperties": false,
        "$defs": defs,
    });
    sorted(schema)
}

/// `value` with every object's keys in sorted order. serde_json keeps insertion order when
/// another crate of the build turns on its `preserve_order` feature (the AWS SDK's HTTP client
/// does) and sorts otherwise; sorting here makes the text the same in every build.
fn sorted(value: Json) -> Json {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<(String, Json)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sorted(value)))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests;
