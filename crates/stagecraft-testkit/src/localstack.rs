//! LocalStack for tests and the sandbox: where the test script's instance is, starting and
//! stopping one through `scripts/localstack.sh`, and REST APIs that can be deployed at once.
//!
//! Tests find LocalStack through `STAGECRAFT_LOCALSTACK_ENDPOINT`, which `scripts/test.sh` sets
//! after starting it. A test that needs LocalStack and does not find it fails: it never skips.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use aws_sdk_apigateway::Client;
use aws_sdk_apigateway::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_apigateway::error::DisplayErrorContext;
use aws_sdk_apigateway::types::IntegrationType;

/// The variable `scripts/test.sh` sets to LocalStack's endpoint, `http://127.0.0.1:PORT`.
pub const ENDPOINT_VAR: &str = "STAGECRAFT_LOCALSTACK_ENDPOINT";

/// The region tests and the sandbox use unless a configuration names another.
pub const REGION: &str = "us-east-1";

/// The tag LocalStack reads at `CreateRestApi` to choose the new API's id.
const CUSTOM_ID_TAG: &str = "_custom_id_";

/// LocalStack's endpoint from [`ENDPOINT_VAR`].
///
/// # Panics
///
/// When the variable is missing or empty, with a message saying how to run the tests: a test
/// that needs LocalStack fails without it, it never passes by skipping.
pub fn endpoint_from_env() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(endpoint) if !endpoint.trim().is_empty() => endpoint.trim().to_owned(),
        _ => panic!(
            "{ENDPOINT_VAR} is not set: this test needs LocalStack. Run the suite with \
             scripts/test.sh (it starts LocalStack and sets the variable), or start one with \
             `scripts/localstack.sh start PORT` and export {ENDPOINT_VAR}=http://127.0.0.1:PORT"
        ),
    }
}

/// A failed call to LocalStack while setting up a test or the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError {
    /// What was being done (`CreateRestApi`, `scripts/localstack.sh start`, ...).
    pub operation: String,
    /// Why it failed.
    pub message: String,
}

impl SetupError {
    fn new(operation: impl Into<String>, message: impl Into<String>) -> SetupError {
        SetupError {
            operation: operation.into(),
            message: message.into(),
        }
    }

    fn sdk(operation: &str, err: impl std::error::Error) -> SetupError {
        SetupError::new(operation, DisplayErrorContext(err).to_string())
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.operation, self.message)
    }
}

impl std::error::Error for SetupError {}

/// The credentials every LocalStack client of the tests signs with (LocalStack takes any).
pub(crate) fn test_credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "stagecraft-testkit")
}

/// An API Gateway client for LocalStack at `endpoint`: test credentials, `region`, no retries
/// beyond the SDK's standard ones.
pub fn apigateway_client(endpoint: &str, region: &str) -> Client {
    let config = aws_sdk_apigateway::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(test_credentials())
        .build();
    Client::from_conf(config)
}

/// Creates a REST API with the chosen `id` in LocalStack at `endpoint` (region
/// [`REGION`]), ready to deploy: a `GET` method on its root resource with a MOCK integration.
/// Returns the id.
pub async fn create_rest_api(endpoint: &str, id: &str, name: &str) -> Result<String, SetupError> {
    create_rest_api_with(&apigateway_client(endpoint, REGION), id, name).await
}

/// [`create_rest_api`] with a client of one's own (another region, for example).
pub async fn create_rest_api_with(
    client: &Client,
    id: &str,
    name: &str,
) -> Result<String, SetupError> {
    let created = client
        .create_rest_api()
        .name(name)
        .tags(CUSTOM_ID_TAG, id)
        .send()
        .await
        .map_err(|e| SetupError::sdk("CreateRestApi", e))?;
    let api_id = created
        .id()
        .ok_or_else(|| SetupError::new("CreateRestApi", "the answer has no id"))?
        .to_owned();
    if api_id != id {
        return Err(SetupError::new(
            "CreateRestApi",
            format!("asked for id {id} with the {CUSTOM_ID_TAG} tag, got {api_id}"),
        ));
    }
    add_root_mock_method(client, &api_id).await?;
    Ok(api_id)
}

/// Like [`create_rest_api_with`], but an API that already has this id is kept as it is (the
/// sandbox may be started again on a LocalStack that outlived it). Returns whether it was created.
pub async fn ensure_rest_api(client: &Client, id: &str, name: &str) -> Result<bool, SetupError> {
    match client.get_rest_api().rest_api_id(id).send().await {
        Ok(_) => Ok(false),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            create_rest_api_with(client, id, name).await.map(|_| true)
        }
        Err(err) => Err(SetupError::sdk("GetRestApi", err)),
    }
}

/// Deletes the REST API `id` from LocalStack at `endpoint` with its stages and deployments, if
/// it exists: a test that needs a fixed id (an example's) starts from nothing even on a
/// LocalStack an earlier run left it in.
pub async fn delete_rest_api(endpoint: &str, id: &str) -> Result<(), SetupError> {
    let client = apigateway_client(endpoint, REGION);
    match client.delete_rest_api().rest_api_id(id).send().await {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(SetupError::sdk("DeleteRestApi", err)),
    }
}

/// `GET /` with a MOCK integration answering 200: API Gateway refuses to deploy an API without
/// any method.
async fn add_root_mock_method(client: &Client, api_id: &str) -> Result<(), SetupError> {
    let resources = client
        .get_resources()
        .rest_api_id(api_id)
        .send()
        .await
        .map_err(|e| SetupError::sdk("GetResources", e))?;
    let root = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/"))
        .and_then(|r| r.id())
        .ok_or_else(|| SetupError::new("GetResources", "the API has no root resource"))?
        .to_owned();
    client
        .put_method()
        .rest_api_id(api_id)
        .resource_id(&root)
        .http_method("GET")
        .authorization_type("NONE")
        .send()
        .await
        .map_err(|e| SetupError::sdk("PutMethod", e))?;
    client
        .put_integration()
        .rest_api_id(api_id)
        .resource_id(&root)
        .http_method("GET")
        .r#type(IntegrationType::Mock)
        .request_templates("application/json", r#"{"statusCode": 200}"#)
        .send()
        .await
        .map_err(|e| SetupError::sdk("PutIntegration", e))?;
    client
        .put_method_response()
        .rest_api_id(api_id)
        .resource_id(&root)
        .http_method("GET")
        .status_code("200")
        .send()
        .await
        .map_err(|e| SetupError::sdk("PutMethodResponse", e))?;
    client
        .put_integration_response()
        .rest_api_id(api_id)
        .resource_id(&root)
        .http_method("GET")
        .status_code("200")
        .response_templates("application/json", r#"{"ok": true}"#)
        .send()
        .await
        .map_err(|e| SetupError::sdk("PutIntegrationResponse", e))?;
    Ok(())
}

/// The repository's root folder (the one holding `scripts/localstack.sh`): the nearest ancestor
/// of the current folder that has it, else the one this crate was built from.
pub fn repo_root() -> Option<PathBuf> {
    let has_script = |dir: &Path| dir.join("scripts/localstack.sh").is_file();
    if let Ok(current) = std::env::current_dir()
        && let Some(found) = current.ancestors().find(|dir| has_script(dir))
    {
        return Some(found.to_path_buf());
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| has_script(dir))
        .map(Path::to_path_buf)
}

/// A LocalStack started by `scripts/localstack.sh start PORT`; stopped (`stop PORT`) on drop.
#[derive(Debug)]
pub struct LocalStackProcess {
    script: PathBuf,
    port: u16,
    stopped: bool,
}

impl LocalStackProcess {
    /// Installs LocalStack if needed and starts it on `127.0.0.1:port`, waiting until it is
    /// healthy (the script's timeout, `LOCALSTACK_START_TIMEOUT`, 180 s by default). The
    /// script's progress goes to this process's stderr.
    ///
    /// Blocks the calling thread: call it from `tokio::task::spawn_blocking` in async code.
    pub fn start(repo_root: &Path, port: u16) -> Result<LocalStackProcess, SetupError> {
        let script = repo_root.join("scripts/localstack.sh");
        let operation = format!("{} start {port}", script.display());
        let status = Command::new(&script)
            .arg("start")
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .map_err(|e| SetupError::new(&operation, e.to_string()))?;
        if !status.success() {
            return Err(SetupError::new(
                operation,
                format!("{status}; its log is in .cache/localstack-{port}.log"),
            ));
        }
        Ok(LocalStackProcess {
            script,
            port,
            stopped: false,
        })
    }

    /// The endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops it now (blocking) rather than on drop.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let result = Command::new(&self.script)
            .arg("stop")
            .arg(self.port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status();
        if let Err(err) = result {
            tracing::warn!("could not stop LocalStack on port {}: {err}", self.port);
        }
    }
}

impl Drop for LocalStackProcess {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// A free TCP port on 127.0.0.1 (free when asked: another process may take it before use).
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}
