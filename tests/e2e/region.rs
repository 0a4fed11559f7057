//! The region is resolved once per command: `--region`, else `[project] region`, else the AWS
//! configuration chain (`AWS_REGION`, then the profile's `region`). `plan` and `apply` write the
//! same region into an `invoke_url` that another stage's variable refers to.

use std::path::Path;

use stagecraft_testkit::localstack;

use crate::aws;
use crate::support::{Run, stagecraft_with_env};

/// A project whose `prod` stage has a variable holding `staging`'s `invoke_url`.
fn write_project(dir: &Path, api: &str, project_region: Option<&str>) {
    let region = project_region.map_or(String::new(), |region| format!("region = \"{region}\"\n"));
    let text = format!(
        "[project]\nname = \"regions\"\n{region}\n[aws]\ncreate_deployment_interval = \"100ms\"\n\n\
         [rest_apis.orders]\nid = \"{api}\"\n\n\
         [rest_apis.orders.stages.staging]\nrevision = \"r1\"\n\n\
         [rest_apis.orders.stages.prod]\nrevision = \"r1\"\n\
         variables = {{ upstream = \"${{rest_apis.orders.stages.staging.invoke_url}}\" }}\n"
    );
    std::fs::write(dir.join("deploy.toml"), text).unwrap();
}

/// A shared AWS configuration file whose default profile names `region`.
fn write_aws_config(dir: &Path, region: &str) -> String {
    let path = dir.join("aws-config");
    std::fs::write(&path, format!("[default]\nregion = {region}\n")).unwrap();
    path.display().to_string()
}

fn url(api: &str, region: &str) -> String {
    format!("https://{api}.execute-api.{region}.amazonaws.com/staging")
}

/// The line of a text plan that shows `upstream`'s value.
fn upstream_line(run: &Run) -> String {
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run.stdout
        .lines()
        .find(|line| line.contains("\"upstream\""))
        .unwrap_or_else(|| panic!("no upstream line in:\n{}", run.stdout))
        .trim()
        .to_string()
}

/// Guards the region being decided once: with the region named only by the AWS profile,
/// `plan` showed `upstream = (known after apply)` (it read only `--region`, the project and
/// `AWS_REGION`) while `apply` asked the SDK and sent the profile's region, so the plan did not
/// show what apply did. Now both show, and AWS receives, one URL.
#[test]
fn plan_and_apply_agree_on_an_invoke_url_whose_region_only_the_profile_names() {
    let dir = tempfile::tempdir().unwrap();
    let api = aws::new_api();
    write_project(dir.path(), &api, None);
    let config_file = write_aws_config(dir.path(), localstack::REGION);
    let endpoint = aws::endpoint();
    let credentials = dir.path().join("no-credentials").display().to_string();
    let env = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_CONFIG_FILE", config_file.as_str()),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.as_str()),
        ("AWS_PROFILE", "default"),
    ];
    let expected = format!("+ \"upstream\" = \"{}\"", url(&api, localstack::REGION));

    let plan = stagecraft_with_env(dir.path(), &["plan"], &env);
    assert_eq!(upstream_line(&plan), expected);

    let apply = stagecraft_with_env(dir.path(), &["apply", "--auto-approve"], &env);
    assert_eq!(upstream_line(&apply), expected);
    assert!(apply.stdout.contains("Apply complete!"), "{}", apply.stdout);
    let prod = aws::stage(&api, "prod").unwrap();
    assert_eq!(
        prod.variables.unwrap_or_default()["upstream"],
        url(&api, localstack::REGION)
    );
}

/// The order of the sources, as plans show it (no AWS call is made without `--refresh`).
#[test]
fn the_flag_beats_the_project_which_beats_the_environment_which_beats_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let api = "abcdefghij";
    let config_file = write_aws_config(dir.path(), "sa-east-1");
    let credentials = dir.path().join("no-credentials").display().to_string();
    let plan = |args: &[&str], env_region: Option<&str>| {
        let mut env = vec![
            ("AWS_CONFIG_FILE", config_file.as_str()),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials.as_str()),
            ("AWS_PROFILE", "default"),
        ];
        if let Some(region) = env_region {
            env.push(("AWS_REGION", region));
        }
        let mut all = args.to_vec();
        all.push("plan");
        upstream_line(&stagecraft_with_env(dir.path(), &all, &env))
    };
    let shows = |region: &str| format!("+ \"upstream\" = \"{}\"", url(api, region));

    write_project(dir.path(), api, Some("eu-west-1"));
    assert_eq!(
        plan(&["--region", "us-west-2"], Some("ap-south-1")),
        shows("us-west-2")
    );
    assert_eq!(plan(&[], Some("ap-south-1")), shows("eu-west-1"));

    write_project(dir.path(), api, None);
    assert_eq!(plan(&[], Some("ap-south-1")), shows("ap-south-1"));
    assert_eq!(plan(&[], None), shows("sa-east-1"));
}
