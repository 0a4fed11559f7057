//! Checks the Amplify emulator against AWS's own service model (botocore's `service-2.json`,
//! installed with LocalStack by `scripts/localstack.sh install`): for every operation the
//! emulator serves, the model's HTTP method and `requestUri`, its required input members, its
//! length, range and enum constraints, and the member names of its output shape.
//!
//! The checks are derived from the model: what is hand-written is only which operations the
//! provider calls (they must be served) and how to fill the URI labels from a fixture.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};
use stagecraft_testkit::amplify::{Emulator, EmulatorConfig};

/// The operations `stagecraft-aws` calls, plus the reads the emulator serves for tests.
const PROVIDER_OPERATIONS: [&str; 11] = [
    "CreateBranch",
    "UpdateBranch",
    "GetBranch",
    "DeleteBranch",
    "ListJobs",
    "GetJob",
    "StopJob",
    "CreateDeployment",
    "StartDeployment",
    "GetApp",
    "ListBranches",
];

/// botocore's Amplify model, found by globbing
/// `.cache/localstack-venv/lib/python*/site-packages/botocore/data/amplify/*/service-2.json*`.
fn model() -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let lib = root.join(".cache/localstack-venv/lib");
    let mut found: Vec<PathBuf> = Vec::new();
    for python in std::fs::read_dir(&lib).into_iter().flatten().flatten() {
        if !python.file_name().to_string_lossy().starts_with("python") {
            continue;
        }
        let amplify = python.path().join("site-packages/botocore/data/amplify");
        for version in std::fs::read_dir(&amplify).into_iter().flatten().flatten() {
            for file in std::fs::read_dir(version.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if file
                    .file_name()
                    .to_string_lossy()
                    .starts_with("service-2.json")
                {
                    found.push(file.path());
                }
            }
        }
    }
    found.sort();
    let path = found.pop().unwrap_or_else(|| {
        panic!(
            "botocore's Amplify service model was not found under {}; run \
             `scripts/localstack.sh install` to install it",
            lib.display()
        )
    });
    let bytes = std::fs::read(&path).unwrap();
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut out)
            .unwrap();
        out
    } else {
        String::from_utf8(bytes).unwrap()
    };
    serde_json::from_str(&text).unwrap()
}

struct Model(Value);

impl Model {
    fn shape(&self, name: &str) -> &Value {
        &self.0["shapes"][name]
    }

    fn operations(&self) -> Vec<(&String, &Value)> {
        self.0["operations"].as_object().unwrap().iter().collect()
    }

    /// The input members of an operation: (name, member definition, target shape).
    fn input(&self, op: &Value) -> Vec<(String, Value, Value)> {
        let Some(input) = op["input"]["shape"].as_str() else {
            return Vec::new();
        };
        let shape = self.shape(input);
        shape["members"]
            .as_object()
            .map(|members| {
                members
                    .iter()
                    .map(|(name, member)| {
                        let target = self.shape(member["shape"].as_str().unwrap()).clone();
                        (name.clone(), member.clone(), target)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn required(&self, op: &Value) -> Vec<String> {
        op["input"]["shape"]
            .as_str()
            .map(|input| strings(&self.shape(input)["required"]))
            .unwrap_or_default()
    }

    /// Every departure of `value` from the shape `name`: unknown members, missing required
    /// members, wrong JSON types, strings longer than the shape allows.
    fn conform(&self, value: &Value, name: &str, at: &str, errors: &mut Vec<String>) {
        let shape = self.shape(name);
        match shape["type"].as_str().unwrap() {
            "structure" => {
                let Some(object) = value.as_object() else {
                    return errors.push(format!("{at}: not an object"));
                };
                let members = shape["members"].as_object().unwrap();
                for (key, item) in object {
                    match members.get(key) {
                        Some(member) => self.conform(
                            item,
                            member["shape"].as_str().unwrap(),
                            &format!("{at}.{key}"),
                            errors,
                        ),
                        None => errors.push(format!("{at}.{key}: not a member of {name}")),
                    }
                }
                for required in strings(&shape["required"]) {
                    if !object.contains_key(&required) {
                        errors.push(format!("{at}.{required}: required by {name}, missing"));
                    }
                }
            }
            "list" => match value.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let member = shape["member"]["shape"].as_str().unwrap();
                        self.conform(item, member, &format!("{at}[{i}]"), errors);
                    }
                }
                None => errors.push(format!("{at}: not a list")),
            },
            "map" => match value.as_object() {
                Some(entries) => {
                    for (key, item) in entries {
                        let member = shape["value"]["shape"].as_str().unwrap();
                        self.conform(item, member, &format!("{at}[{key}]"), errors);
                    }
                }
                None => errors.push(format!("{at}: not a map")),
            },
            "string" => match value.as_str() {
                Some(text) => {
                    if let Some(max) = shape["max"].as_u64()
                        && text.chars().count() as u64 > max
                    {
                        errors.push(format!("{at}: longer than {max}"));
                    }
                }
                None => errors.push(format!("{at}: not a string")),
            },
            "boolean" => {
                if !value.is_boolean() {
                    errors.push(format!("{at}: not a boolean"));
                }
            }
            "integer" | "long" => {
                if !value.is_i64() {
                    errors.push(format!("{at}: not an integer"));
                }
            }
            "timestamp" => {
                if !value.is_number() {
                    errors.push(format!("{at}: not epoch seconds"));
                }
            }
            other => errors.push(format!("{at}: unexpected shape type {other}")),
        }
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// An emulator with an app, a branch `main` and a job `1`: left open (created, not started)
/// for the operations that act on an unfinished job, finished otherwise.
struct Fixture {
    emu: Emulator,
    app_id: String,
}

async fn fixture(open_job: bool) -> Fixture {
    let emu = Emulator::start(EmulatorConfig {
        job_timing: Duration::ZERO,
        bind: None,
    })
    .await
    .unwrap();
    let app_id = emu.create_app("site");
    let http = reqwest::Client::new();
    let base = format!("{}/apps/{app_id}/branches", emu.endpoint());
    let send = |method: reqwest::Method, url: String, body: Value| {
        http.request(method, url).body(body.to_string()).send()
    };
    let created = send(
        reqwest::Method::POST,
        base.clone(),
        json!({"branchName": "main"}),
    );
    assert_eq!(created.await.unwrap().status(), 200);
    let url = format!("{base}/main/deployments");
    let answer = send(reqwest::Method::POST, url, json!({})).await.unwrap();
    let deployment: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    if !open_job {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .start_file("index.html", zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(b"hello").unwrap();
        let zip = writer.finish().unwrap().into_inner();
        let upload = deployment["zipUploadUrl"].as_str().unwrap();
        assert_eq!(
            http.put(upload).body(zip).send().await.unwrap().status(),
            200
        );
        let url = format!("{base}/main/deployments/start");
        let started = send(reqwest::Method::POST, url, json!({"jobId": "1"}));
        assert_eq!(started.await.unwrap().status(), 200);
    }
    emu.reset_calls();
    Fixture { emu, app_id }
}

/// Whether an operation acts on an unfinished job (its fixture's job is left open).
fn needs_open_job(operation: &str) -> bool {
    matches!(operation, "StopJob" | "StartDeployment")
}

/// One request, built from the model's input members.
#[derive(Debug, Clone)]
struct Call {
    method: String,
    labels: Vec<(String, String)>,
    uri: String,
    query: Vec<(String, String)>,
    body: Map<String, Value>,
}

impl Call {
    fn url(&self, endpoint: &str) -> String {
        let mut path = self.uri.split('?').next().unwrap().to_owned();
        for (name, value) in &self.labels {
            let encoded = stagecraft_encode(value);
            path = path
                .replace(&format!("{{{name}}}"), &encoded)
                .replace(&format!("{{{name}+}}"), &encoded);
        }
        let query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if query.is_empty() {
            format!("{endpoint}{path}")
        } else {
            format!("{endpoint}{path}?{}", query.join("&"))
        }
    }

    async fn send(&self, endpoint: &str) -> (u16, String, Value) {
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).unwrap();
        let mut request = reqwest::Client::new().request(method, self.url(endpoint));
        if !self.body.is_empty() {
            request = request.body(Value::Object(self.body.clone()).to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("x-amzn-errortype")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, kind, body)
    }

    /// Sets a member where the model locates it.
    fn set(&mut self, name: &str, member: &Value, value: Value) {
        let wire = member["locationName"].as_str().unwrap_or(name).to_owned();
        let text = || match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match member["location"].as_str() {
            Some("uri") => {
                self.labels.retain(|(n, _)| *n != wire);
                self.labels.push((wire, text()));
            }
            Some("querystring") => {
                self.query.retain(|(n, _)| *n != wire);
                self.query.push((wire, text()));
            }
            Some(_) => {}
            None => {
                self.body.insert(wire, value);
            }
        }
    }

    fn unset(&mut self, name: &str, member: &Value) {
        let wire = member["locationName"].as_str().unwrap_or(name).to_owned();
        match member["location"].as_str() {
            // A missing label is an empty path segment.
            Some("uri") => self.set(name, member, json!("")),
            Some("querystring") => self.query.retain(|(n, _)| *n != wire),
            Some(_) => {}
            None => {
                self.body.remove(&wire);
            }
        }
    }
}

/// Percent-encodes a label as the SDK does.
fn stagecraft_encode(label: &str) -> String {
    label
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A string a member's pattern accepts, `length` characters long (at least the prefix).
fn filler(shape: &Value, length: usize) -> String {
    let pattern = shape["pattern"].as_str().unwrap_or("");
    if pattern.starts_with("d[") {
        format!("d{}", "1".repeat(length.saturating_sub(1)))
    } else if pattern.contains("\\d") || pattern.contains("[0-9]") {
        "1".repeat(length)
    } else if pattern.contains("://") {
        let prefix = "https://";
        format!(
            "{prefix}{}",
            "a".repeat(length.saturating_sub(prefix.len()))
        )
    } else {
        "a".repeat(length)
    }
}

/// The request for `operation` with its required members and the fixture's ids filled in.
fn base_call(model: &Model, operation: &Value, fixture: &Fixture, serial: usize) -> Call {
    let http = &operation["http"];
    let mut call = Call {
        method: http["method"].as_str().unwrap().to_owned(),
        labels: Vec::new(),
        uri: http["requestUri"].as_str().unwrap().to_owned(),
        query: Vec::new(),
        body: Map::new(),
    };
    let required = model.required(operation);
    for (name, member, shape) in model.input(operation) {
        let in_uri = member["location"].as_str() == Some("uri");
        let value = match (name.as_str(), in_uri) {
            ("appId", _) => Some(json!(fixture.app_id)),
            ("branchName", true) => Some(json!("main")),
            ("branchName", false) => Some(json!(format!("fresh-{serial}"))),
            ("jobId", _) => Some(json!("1")),
            _ if required.contains(&name) || in_uri => Some(match shape["type"].as_str() {
                Some("string") => json!(filler(
                    &shape,
                    shape["min"].as_u64().unwrap_or(1).max(1) as usize
                )),
                Some("integer") | Some("long") => json!(1),
                Some("boolean") => json!(false),
                Some("map") | Some("structure") => json!({}),
                Some("list") => json!([]),
                _ => json!("x"),
            }),
            _ => None,
        };
        if let Some(value) = value {
            call.set(&name, &member, value);
        }
    }
    call
}

fn is_bad_request(kind: &str) -> bool {
    kind.split(':').next() == Some("BadRequestException")
}

/// Every operation of the model the emulator serves, at the model's method and `requestUri`,
/// answers 200 with a body that conforms to the output shape, and counts under its own name;
/// every provider operation is among them.
#[tokio::test]
async fn served_operations_follow_the_model_routes_and_output_shapes() {
    let model = Model(model());
    let mut served = BTreeSet::new();
    let mut errors = Vec::new();
    for (serial, (name, operation)) in model.operations().into_iter().enumerate() {
        let fixture = fixture(needs_open_job(name)).await;
        let call = base_call(&model, operation, &fixture, serial);
        let (status, kind, body) = call.send(&fixture.emu.endpoint()).await;
        if status == 404 && kind.starts_with("UnknownOperationException") {
            continue;
        }
        served.insert(name.clone());
        if status != 200 {
            errors.push(format!("{name}: {call:?} answered {status} {kind} {body}"));
            continue;
        }
        let counted = fixture.emu.calls();
        if counted.get(name.as_str()) != Some(&1) || counted.len() != 1 {
            errors.push(format!("{name}: counted as {counted:?}"));
        }
        let output = operation["output"]["shape"].as_str().unwrap();
        model.conform(&body, output, name, &mut errors);
    }
    for operation in PROVIDER_OPERATIONS {
        assert!(
            served.contains(operation),
            "{operation} is not served: {served:?}"
        );
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// A request missing any member the model requires is refused with `BadRequestException`
/// (a URI label is missing when its path segment is empty).
#[tokio::test]
async fn missing_required_members_are_bad_requests() {
    let model = Model(model());
    let mut errors = Vec::new();
    let mut checked = 0;
    for (serial, (name, operation)) in model.operations().into_iter().enumerate() {
        if !PROVIDER_OPERATIONS.contains(&name.as_str()) && !served_extra(name) {
            continue;
        }
        for required in model.required(operation) {
            let fixture = fixture(needs_open_job(name)).await;
            let mut call = base_call(&model, operation, &fixture, serial);
            let (_, member, _) = model
                .input(operation)
                .into_iter()
                .find(|(n, _, _)| *n == required)
                .unwrap();
            call.unset(&required, &member);
            let (status, kind, body) = call.send(&fixture.emu.endpoint()).await;
            checked += 1;
            if status != 400 || !is_bad_request(&kind) {
                errors.push(format!("{name} without {required}: {status} {kind} {body}"));
            }
        }
    }
    assert!(checked >= 20, "only {checked} required members checked");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// The app operations the emulator serves besides the provider's.
fn served_extra(operation: &str) -> bool {
    matches!(operation, "CreateApp" | "ListApps" | "DeleteApp")
}

/// For the provider's operations, every length, range and enum constraint the model puts on an
/// input member (and on the keys and values of its maps) is enforced: a value just outside is
/// refused with `BadRequestException`, and one at the bound is not.
#[tokio::test]
async fn input_constraints_are_enforced_at_their_bounds() {
    let model = Model(model());
    let mut errors = Vec::new();
    let mut checked = 0;
    for (serial, (name, operation)) in model.operations().into_iter().enumerate() {
        if !PROVIDER_OPERATIONS.contains(&name.as_str()) {
            continue;
        }
        for (member_name, member, shape) in model.input(operation) {
            for (value, valid) in probes(&model, &member_name, &shape) {
                let fixture = fixture(needs_open_job(name)).await;
                let mut call = base_call(&model, operation, &fixture, serial);
                call.set(&member_name, &member, value.clone());
                let (status, kind, body) = call.send(&fixture.emu.endpoint()).await;
                checked += 1;
                let refused = status == 400 && is_bad_request(&kind);
                if refused == valid {
                    let shown: String = value.to_string().chars().take(80).collect();
                    errors.push(format!(
                        "{name}.{member_name} = {shown}: {status} {kind} {body} (expected {})",
                        if valid {
                            "accepted"
                        } else {
                            "BadRequestException"
                        }
                    ));
                }
            }
        }
    }
    assert!(checked >= 40, "only {checked} constraints checked");
    eprintln!("{checked} constraint probes");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// Members the emulator documents as not modelled (refused whatever their value) or whose
/// value the fixture cannot make valid: only their out-of-bound values are probed.
fn unmodelled(member: &str) -> bool {
    matches!(
        member,
        "sourceUrl" | "sourceUrlType" | "fileMap" | "nextToken" | "backend"
    )
}

/// Values at and just beyond each bound of a member's constraints, each with whether it is
/// valid.
fn probes(model: &Model, member: &str, shape: &Value) -> Vec<(Value, bool)> {
    let mut out = Vec::new();
    let keep_valid = !unmodelled(member) && !matches!(member, "appId" | "branchName" | "jobId");
    match shape["type"].as_str() {
        Some("string") => {
            if let Some(values) = shape["enum"].as_array() {
                out.push((json!("NOT_A_MODEL_VALUE"), false));
                if keep_valid {
                    out.push((values[0].clone(), true));
                }
            }
            if let Some(max) = shape["max"].as_u64() {
                out.push((json!(filler(shape, max as usize + 1)), false));
                if keep_valid {
                    out.push((json!(filler(shape, max as usize)), true));
                }
            }
            if let Some(min) = shape["min"].as_u64().filter(|min| *min > 0) {
                out.push((json!(filler(shape, min as usize - 1)), false));
            }
        }
        Some("integer") | Some("long") => {
            if let Some(max) = shape["max"].as_i64() {
                out.push((json!(max + 1), false));
                out.push((json!(max), true));
            }
            if let Some(min) = shape["min"].as_i64() {
                out.push((json!(min - 1), false));
                out.push((json!(min), true));
            }
        }
        Some("map") => {
            let key = model.shape(shape["key"]["shape"].as_str().unwrap());
            let value = model.shape(shape["value"]["shape"].as_str().unwrap());
            let key_ok = filler(key, 1).to_uppercase();
            if let Some(max) = key["max"].as_u64() {
                let long = filler(key, max as usize + 1).to_uppercase();
                out.push((json!({ long: "v" }), false));
            }
            if let Some(max) = value["max"].as_u64() {
                let long = filler(value, max as usize + 1);
                out.push((json!({ key_ok.clone(): long }), false));
                if keep_valid {
                    out.push((json!({ key_ok.clone(): filler(value, max as usize) }), true));
                }
            }
            if let Some(max) = shape["max"].as_u64() {
                let many: Map<String, Value> =
                    (0..=max).map(|i| (format!("K{i}"), json!("v"))).collect();
                out.push((Value::Object(many), false));
            }
        }
        _ => {}
    }
    out
}
