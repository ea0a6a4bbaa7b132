#!/usr/bin/env python3
"""ci_templates.py - helper of test_ci_templates.sh: checks the GitHub
Action (action.yml) and the GitLab CI template (ci/gitlab/gate.gitlab-ci.yml)
and runs their shell steps the way the runners do, with a prebuilt gate.

  action SRC WORKDIR [INPUT=VALUE...]   check action.yml, run its steps in
                                        WORKDIR, print the outcome as JSON
  gitlab SRC WORKDIR                    check the GitLab job, run its script
                                        in WORKDIR, print the outcome as JSON
Checks print "PASS name" / "FAIL name: why"; GATE names the binary.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

failures = 0
EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def report(name, ok, why=""):
    global failures
    failures += not ok
    print(("PASS " + name) if ok else "FAIL %s: %s" % (name, why))


def load(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    report("%s parses as a YAML mapping" % os.path.basename(path), isinstance(doc, dict),
           type(doc).__name__)
    return doc if isinstance(doc, dict) else {}


def resolve(value, ctx):
    """Expand ${{ inputs.X }}, ${{ github.action_path }} and
    ${{ steps.S.outputs.O }}; any other expression is an error."""
    def one(m):
        expr = m.group(1)
        if expr.startswith("steps.") and ".outputs." in expr:
            return ctx.get(expr, "")  # an output never set is empty
        if expr not in ctx:
            raise KeyError("unsupported expression ${{ %s }}" % expr)
        return ctx[expr]
    return EXPR.sub(one, str(value))


def read_outputs(path):
    out = {}
    with open(path) as f:
        for line in f.read().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


def check_action(src, work, overrides):
    doc = load(os.path.join(src, "action.yml"))
    runs = doc.get("runs", {})
    report("action: composite", runs.get("using") == "composite", repr(runs.get("using")))
    inputs = doc.get("inputs", {})
    for name in ("policy", "paths", "sarif-file", "junit-file", "summary", "fail-on-deny"):
        report("action: input %s has a default and a description" % name,
               isinstance(inputs.get(name), dict) and "default" in inputs[name]
               and inputs[name].get("description"), repr(inputs.get(name)))
    outputs = doc.get("outputs", {})
    for name in ("exit-code", "allowed", "denied", "errors", "sarif-file", "junit-file"):
        report("action: output %s" % name,
               isinstance(outputs.get(name), dict) and "steps.check.outputs." in
               str(outputs[name].get("value")), repr(outputs.get(name)))
    steps = runs.get("steps", [])
    report("action: every step runs in bash", steps and all(s.get("shell") == "bash"
                                                           for s in steps), repr(steps))
    report("action: no expression inside a script (inputs come through env)",
           not any("${{" in s.get("run", "") for s in steps), "")
    report("action: builds gate instead of expecting it on PATH",
           not any("command -v gate" in s.get("run", "") for s in steps), "")

    ctx = {"github.action_path": src}
    for k, v in inputs.items():
        ctx["inputs." + k] = str(v.get("default", ""))
    for kv in overrides:
        k, v = kv.split("=", 1)
        ctx["inputs." + k] = v
    tmp = tempfile.mkdtemp(dir=work)
    summary = os.path.join(tmp, "step_summary")
    open(summary, "w").close()
    result = {"steps": []}
    for i, s in enumerate(steps):
        out = os.path.join(tmp, "output%d" % i)
        open(out, "w").close()
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"),
               "GATE": os.environ["GATE"], "RUNNER_TEMP": tmp, "GITHUB_OUTPUT": out,
               "GITHUB_STEP_SUMMARY": summary, "GITHUB_ACTION_PATH": src}
        env.update({k: resolve(v, ctx) for k, v in s.get("env", {}).items()})
        with open(os.path.join(tmp, "step%d.sh" % i), "w") as f:
            f.write(s["run"])
        p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", f.name],
                           cwd=work, env=env, capture_output=True, text=True)
        result["steps"].append({"id": s.get("id"), "rc": p.returncode,
                                "stdout": p.stdout[-2000:], "stderr": p.stderr[-2000:]})
        for k, v in read_outputs(out).items():
            ctx["steps.%s.outputs.%s" % (s.get("id"), k)] = v
        if p.returncode != 0:
            break
    result["outputs"] = {}
    for k, v in outputs.items():
        try:
            result["outputs"][k] = resolve(v.get("value", ""), ctx)
        except KeyError:
            result["outputs"][k] = None
    result["summary"] = open(summary).read()
    print("JSON " + json.dumps(result))


def check_gitlab(src, work):
    doc = load(os.path.join(src, "ci", "gitlab", "gate.gitlab-ci.yml"))
    job = doc.get("gate", {})
    report("gitlab: a job named gate with a script", isinstance(job.get("script"), list),
           repr(job))
    report("gitlab: image debian:12", job.get("image") == "debian:12", repr(job.get("image")))
    art = job.get("artifacts", {})
    report("gitlab: reports junit gate-junit.xml",
           art.get("reports", {}).get("junit") == "gate-junit.xml", repr(art))
    report("gitlab: keeps the reports when gate fails the job", art.get("when") == "always",
           repr(art))
    report("gitlab: keeps SARIF, JUnit and the summary",
           set(art.get("paths", [])) >= {"gate.sarif", "gate-junit.xml", "gate-summary.md"},
           repr(art.get("paths")))
    variables = job.get("variables", {})
    report("gitlab: report files are the artifacts",
           (variables.get("GATE_SARIF"), variables.get("GATE_JUNIT"),
            variables.get("GATE_SUMMARY")) == ("gate.sarif", "gate-junit.xml", "gate-summary.md"),
           repr(variables))
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"),
           "GATE": os.environ["GATE"], "CI_PROJECT_DIR": src}
    env.update({k: str(v) for k, v in variables.items()})
    # The runner runs the lines in one shell, stopping at the first failure.
    script = "set -e\n" + "\n".join(job.get("script", []))
    p = subprocess.run(["bash", "--noprofile", "--norc", "-c", script], cwd=work, env=env,
                       capture_output=True, text=True)
    print("JSON " + json.dumps({"rc": p.returncode, "stdout": p.stdout[-2000:],
                                "stderr": p.stderr[-2000:]}))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "action":
        check_action(args[0], args[1], args[2:])
    elif cmd == "gitlab":
        check_gitlab(*args)
    else:
        sys.exit("unknown subcommand " + cmd)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
