#!/usr/bin/env python3
"""Apply benchmark: `stagecraft apply` creating, then redeploying, N stages over M REST APIs
against LocalStack under both of API Gateway's account quotas, with the calls counted.

For each (stages, APIs) pair the stages are created at one revision per API (measured), then all
moved to a new revision (measured). Every call goes through a counting proxy in front of
LocalStack, so the table shows the calls each apply really made: `CreateDeployment` and all
other API Gateway calls. The floor is the longer of the two quota floors for those calls:
(CreateDeployment calls - 1) x `create_deployment_interval`, and (all calls - burst) / rate for
the request-rate bucket (`requests_per_second`, `request_burst`, AWS: 10 and 40). The ratio is
wall time over floor.

Usage: scripts/bench-apply.py [--cases 10/1,100/10,200/20] [--interval 1s] [--rate 10]
                              [--burst 40] [--bin PATH]

The default interval is 1 s, AWS's 5 s scaled down so that the whole run stays within about ten
minutes; the rate and burst are AWS's. Uses LocalStack at STAGECRAFT_LOCALSTACK_ENDPOINT, or
starts one with scripts/localstack.sh on a free port (and stops it at the end). REST APIs are
made with boto3 (CreateRestApi with the `_custom_id_` tag, a GET method with a MOCK integration
on the root), directly against LocalStack (not counted). Prints a Markdown table;
docs/bench-apply.md keeps the committed results.
"""
import argparse
import collections
import http.client
import http.server
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
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

# API Gateway's REST routes, as (method, path pattern) -> operation.
OPERATIONS = [
    ("POST", r"/restapis/[^/]+/deployments", "CreateDeployment"),
    ("GET", r"/restapis/[^/]+/deployments", "GetDeployments"),
    ("GET", r"/restapis/[^/]+/deployments/[^/]+", "GetDeployment"),
    ("POST", r"/restapis/[^/]+/stages", "CreateStage"),
    ("GET", r"/restapis/[^/]+/stages", "GetStages"),
    ("GET", r"/restapis/[^/]+/stages/[^/]+", "GetStage"),
    ("PATCH", r"/restapis/[^/]+/stages/[^/]+", "UpdateStage"),
    ("DELETE", r"/restapis/[^/]+/stages/[^/]+", "DeleteStage"),
]


def operation(method, path):
    for m, pattern, name in OPERATIONS:
        if m == method and re.fullmatch(pattern, path):
            return name
    return f"{method} {path}"


class CountingProxy:
    """A threaded HTTP reverse proxy to `upstream` that counts requests by operation."""

    def __init__(self, upstream):
        parsed = urllib.parse.urlparse(upstream)
        self.host, self.port = parsed.hostname, parsed.port
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path = urllib.parse.urlsplit(self.path).path
                with proxy.lock:
                    proxy.counts[operation(self.command, path)] += 1
                upstream = http.client.HTTPConnection(proxy.host, proxy.port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = relay

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self):
        with self.lock:
            counts = dict(self.counts)
            self.counts.clear()
        return counts

    def stop(self):
        self.server.shutdown()


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


def config(apis, stages_per_api, quotas, generation):
    interval, rate, burst = quotas
    lines = [
        '[project]\nname = "bench-apply"\nregion = "us-east-1"\n',
        f'[aws]\ncreate_deployment_interval = "{interval}"\n'
        f"requests_per_second = {rate}\nrequest_burst = {burst}\n",
    ]
    for a, api_id in enumerate(apis):
        lines.append(f'[rest_apis.a{a}]\nid = "{api_id}"\n')
        for s in range(stages_per_api):
            lines.append(f'[rest_apis.a{a}.stages.s{s}]\nrevision = "g{generation}"\n')
    return "\n".join(lines)


def apply(binary, folder, endpoint):
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        NO_COLOR="1",
        RUST_LOG="warn",
    )
    started = time.monotonic()
    run = subprocess.run(
        [binary, "apply", "--auto-approve", "--parallelism", "10"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    if run.returncode != 0:
        sys.exit(f"bench-apply.py: apply failed:\n{run.stdout}\n{run.stderr}")
    return wall


def floor(counts, quotas):
    interval, rate, burst = quotas
    calls = sum(counts.values())
    deployments = counts.get("CreateDeployment", 0)
    by_interval = max(0, deployments - 1) * seconds(interval)
    by_rate = max(0, calls - burst) / rate
    return max(by_interval, by_rate), by_interval, by_rate


def row(what, stages, apis, wall, counts, quotas):
    deployments = counts.get("CreateDeployment", 0)
    others = sum(counts.values()) - deployments
    bound, by_interval, by_rate = floor(counts, quotas)
    detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "CreateDeployment")
    ratio = f"{wall / bound:.3f}" if bound > 0 else "-"
    return (
        f"| {what} | {stages} | {apis} | {deployments} | {others} ({detail}) | {wall:.2f} "
        f"| {by_interval:.2f} | {by_rate:.2f} | {ratio} |"
    )


def measure(binary, endpoint, proxy, stages, apis_count, quotas):
    apigw = client(endpoint)
    per_api = stages // apis_count
    apis = [new_api(apigw) for _ in range(apis_count)]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "deploy.toml")
        for generation, what in ((1, "create"), (2, "redeploy")):
            with open(path, "w") as f:
                f.write(config(apis, per_api, quotas, generation))
            proxy.take()
            wall = apply(binary, folder, proxy.endpoint)
            rows.append(row(what, stages, apis_count, wall, proxy.take(), quotas))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="10/1,100/10,200/20", help="stages/APIs pairs")
    parser.add_argument("--interval", default="1s")
    parser.add_argument("--rate", type=int, default=10)
    parser.add_argument("--burst", type=int, default=40)
    parser.add_argument("--bin", default=None, help="the stagecraft binary (default: build debug)")
    args = parser.parse_args()
    quotas = (args.interval, args.rate, args.burst)
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
    proxy = CountingProxy(endpoint)
    try:
        print(
            f"create_deployment_interval {args.interval}, requests_per_second {args.rate}, "
            f"request_burst {args.burst}, --parallelism 10\n"
        )
        print(
            "| apply | stages | APIs | CreateDeployment | other calls | wall (s) "
            "| floor: interval (s) | floor: rate (s) | ratio to the larger |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for case in args.cases.split(","):
            stages, apis = (int(n) for n in case.split("/"))
            for line in measure(binary, endpoint, proxy, stages, apis, quotas):
                print(line, flush=True)
    finally:
        proxy.stop()
        if started_port is not None:
            subprocess.run(
                [os.path.join(ROOT, "scripts", "localstack.sh"), "stop", str(started_port)],
                stdout=subprocess.DEVNULL,
            )


if __name__ == "__main__":
    main()
