#!/usr/bin/env python3
"""Plan benchmark: stagecraft `plan` wall time and peak memory for 1,000 / 10,000 / 100,000
stages (ten per API, with dependencies and canaries), with no state and with a matching state,
beside Terraform planning the same number of `terraform_data` resources with -refresh=false.

Usage: scripts/bench-plan.py [--sizes 1000,10000,100000] [--runs 5] [--no-terraform]
                             [--no-stagecraft] [--terraform-sizes 1000,10000]
Prints a Markdown table; docs/benchmarks.md keeps the committed results.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def generate(size, folder, with_state):
    apis = size // 10
    lines = ['[project]\nname = "bench"\nregion = "us-east-1"\n']
    resources = {}
    deployments = {}
    for a in range(apis):
        api_id = f"api{a:07d}"
        lines.append(f'[rest_apis.a{a}]\nid = "{api_id}"\n')
        deployments[api_id] = {"r1": f"dep{a}-r1", "c1": f"dep{a}-c1"}
        for s in range(10):
            lines.append(
                f'[rest_apis.a{a}.stages.s{s}]\nrevision = "r1"\ndescription = "stage {s}"\n'
                f'variables = {{ backend = "svc-{a}-{s}", level = "info" }}\n'
            )
            if s > 0:
                lines.append(f'depends_on = ["rest_apis.a{a}.stages.s{s - 1}"]\n')
            address = f"rest_apis.a{a}.stages.s{s}"
            resources[address] = {
                "kind": "apigateway_stage", "rest_api_id": api_id, "stage_name": f"s{s}",
                "revision": "r1", "deployment_id": f"dep{a}-r1", "description": f"stage {s}",
                "tracing": False,
                "variables": {"backend": f"svc-{a}-{s}", "level": "info"},
            }
            if s == 9:
                lines.append(
                    f'[rest_apis.a{a}.stages.s{s}.canary]\nrevision = "c1"\npercent_traffic = 5.0\n'
                )
                resources[address + ".canary"] = {
                    "kind": "apigateway_canary", "rest_api_id": api_id, "stage_name": f"s{s}",
                    "revision": "c1", "deployment_id": f"dep{a}-c1", "percent_traffic": 5.0,
                    "variable_overrides": {}, "use_stage_cache": False,
                }
    with open(os.path.join(folder, "deploy.toml"), "w") as f:
        f.write("".join(lines))
    state_path = os.path.join(folder, "stagecraft.state.json")
    if with_state:
        state = {"format_version": 1, "lineage": "bench", "serial": 1, "project": "bench",
                 "deployments": deployments, "resources": resources}
        with open(state_path, "w") as f:
            json.dump(state, f)
    elif os.path.exists(state_path):
        os.remove(state_path)


def generate_terraform(size, folder, with_state):
    with open(os.path.join(folder, "main.tf"), "w") as f:
        f.write(f'resource "terraform_data" "stage" {{\n  count = {size}\n  input = "r1"\n}}\n')
    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    subprocess.run(["terraform", "init", "-input=false"], cwd=folder, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    if with_state:
        subprocess.run(["terraform", "apply", "-auto-approve", "-input=false", "-refresh=false"],
                       cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL)


def measure(command, cwd, runs, ok_codes=(0, 2)):
    times, memory = [], []
    for _ in range(runs):
        result = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + command, cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, CHECKPOINT_DISABLE="1", NO_COLOR="1"))
        if result.returncode not in ok_codes:
            sys.exit(f"{command} failed: {result.stderr[-2000:]}")
        seconds, kib = result.stderr.strip().splitlines()[-1].split()
        times.append(float(seconds))
        memory.append(int(kib) / 1024)
    return statistics.median(times), statistics.median(memory)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-terraform", action="store_true")
    parser.add_argument("--no-stagecraft", action="store_true")
    parser.add_argument("--terraform-sizes", default="1000,10000",
                        help="the sizes Terraform is also run at (it takes seconds per plan)")
    args = parser.parse_args()
    binary = None
    if not args.no_stagecraft:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "stagecraft-cli"],
                       cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", "release", "stagecraft")
    terraform = None if args.no_terraform else shutil.which("terraform")
    terraform_sizes = {int(s) for s in args.terraform_sizes.split(",")}
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        for with_state in (False, True):
            row = [f"{size:,}", "yes" if with_state else "no"]
            seconds = None
            if binary:
                with tempfile.TemporaryDirectory() as folder:
                    generate(size, folder, with_state)
                    seconds, mib = measure([binary, "plan", "--detailed-exitcode"], folder,
                                           args.runs)
                row += [f"{seconds * 1000:.0f} ms", f"{mib:.0f} MiB"]
            else:
                row += ["not run", ""]
            if terraform and size in terraform_sizes:
                with tempfile.TemporaryDirectory() as folder:
                    generate_terraform(size, folder, with_state)
                    tf_seconds, tf_mib = measure(
                        [terraform, "plan", "-refresh=false", "-input=false", "-lock=false"],
                        folder, args.runs)
                ratio = f"{tf_seconds / max(seconds, 0.001):.0f}x" if seconds else ""
                row += [f"{tf_seconds * 1000:.0f} ms", f"{tf_mib:.0f} MiB", ratio]
            else:
                row += ["not run", "", ""]
            rows.append(row)
            print(" | ".join(row), file=sys.stderr)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
          f"median of {args.runs} runs.\n")
    print("| stages | state | stagecraft plan | peak memory | terraform plan | peak memory | ratio |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
