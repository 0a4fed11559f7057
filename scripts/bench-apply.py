#!/usr/bin/env python3
"""Apply benchmark: wall time of `stagecraft apply` redeploying N stages against LocalStack, each
stage to a revision of its own (so N CreateDeployment snapshots), for several
`create_deployment_interval` values, beside the bound the quota sets: (N - 1) x interval.

Usage: scripts/bench-apply.py [--sizes 5,10,20] [--intervals 1s,5s] [--bin PATH]

Uses LocalStack at STAGECRAFT_LOCALSTACK_ENDPOINT, or starts one with scripts/localstack.sh on a
free port (and stops it at the end). REST APIs are made with boto3 (CreateRestApi with the
`_custom_id_` tag, a GET method with a MOCK integration on the root), at most ten stages each.
The stages are first created with a 50 ms interval (not measured), then redeployed (measured).
Prints a Markdown table; docs/bench-apply.md keeps the committed results.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_PYTHON = os.path.join(ROOT, ".cache", "localstack-venv", "bin", "python")

try:
    import boto3
except ImportError:
    if os.path.exists(VENV_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(
        VENV_PYTHON
    ):
        os.execv(VENV_PYTHON, [VENV_PYTHON, *sys.argv])
    sys.exit("bench-apply.py: boto3 is missing; run scripts/localstack.sh install first")

REGION = "us-east-1"


def seconds(text):
    text = text.strip()
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    if text.endswith("s"):
        return float(text[:-1])
    return float(text)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(endpoint):
    return boto3.client(
        "apigateway",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def new_api(apigw):
    api_id = "b" + uuid.uuid4().hex[:9]
    created = apigw.create_rest_api(name=api_id, tags={"_custom_id_": api_id})
    assert created["id"] == api_id, created
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    apigw.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id,
        resourceId=root,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    return api_id


def config(apis, interval, generation):
    lines = [
        '[project]\nname = "bench-apply"\nregion = "us-east-1"\n',
        f'[aws]\ncreate_deployment_interval = "{interval}"\n',
    ]
    for a, (api_id, stages) in enumerate(apis):
        lines.append(f'[rest_apis.a{a}]\nid = "{api_id}"\n')
        for s in range(stages):
            lines.append(f'[rest_apis.a{a}.stages.s{s}]\nrevision = "g{generation}-s{s}"\n')
    return "\n".join(lines)


def apply(binary, folder, endpoint):
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION=REGION,
        NO_COLOR="1",
        RUST_LOG="warn",
    )
    started = time.monotonic()
    run = subprocess.run(
        [binary, "apply", "--auto-approve"], cwd=folder, env=env, capture_output=True, text=True
    )
    wall = time.monotonic() - started
    if run.returncode != 0:
        sys.exit(f"bench-apply.py: apply failed:\n{run.stdout}\n{run.stderr}")
    return wall


def measure(binary, endpoint, size, interval):
    apigw = client(endpoint)
    apis = []
    left = size
    while left > 0:
        apis.append((new_api(apigw), min(10, left)))
        left -= 10
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "deploy.toml")
        with open(path, "w") as f:
            f.write(config(apis, "50ms", 1))
        apply(binary, folder, endpoint)
        with open(path, "w") as f:
            f.write(config(apis, interval, 2))
        return apply(binary, folder, endpoint)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,10,20")
    parser.add_argument("--intervals", default="1s,5s")
    parser.add_argument("--bin", default=None, help="the stagecraft binary (default: build debug)")
    args = parser.parse_args()
    binary = args.bin
    if binary is None:
        subprocess.run(["cargo", "build", "--quiet", "-p", "stagecraft-cli"], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", "debug", "stagecraft")

    endpoint = os.environ.get("STAGECRAFT_LOCALSTACK_ENDPOINT", "").strip()
    started_port = None
    if not endpoint:
        started_port = free_port()
        subprocess.run(
            [os.path.join(ROOT, "scripts", "localstack.sh"), "start", str(started_port)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        endpoint = f"http://127.0.0.1:{started_port}"
    try:
        print("| interval | N | wall time (s) | bound (N-1) x interval (s) | ratio |")
        print("|---|---|---|---|---|")
        for interval in args.intervals.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                wall = measure(binary, endpoint, size, interval)
                bound = (size - 1) * seconds(interval)
                print(f"| {interval} | {size} | {wall:.2f} | {bound:.2f} | {wall / bound:.3f} |", flush=True)
    finally:
        if started_port is not None:
            subprocess.run(
                [os.path.join(ROOT, "scripts", "localstack.sh"), "stop", str(started_port)],
                stdout=subprocess.DEVNULL,
            )


if __name__ == "__main__":
    main()
