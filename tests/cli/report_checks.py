#!/usr/bin/env python3
"""report_checks.py - helper of test_reports.sh: makes the files that
`gate check` decides and checks its SARIF and JUnit reports. Standard library
only (junitparser and jsonschema are used by their own subcommands, run only
when those modules import).

Every check prints one line, "PASS name" or "FAIL name: why"; the shell
script counts them. Subcommands:
  setup DIR                    make DIR/policy*.yaml and DIR/files/
  sarif FILE MODE              check a SARIF report of DIR/files (cwd = DIR)
  sarif-abs FILE               check the file: URIs of a report of absolute paths
  junit FILE MODE              check a JUnit report of DIR/files
  junitparser FILE MODE        load it with junitparser and check the counts
  jsonschema SCHEMA FILE       validate with the jsonschema module
  ci-yaml DIR                  parse and check the example workflow in DIR
  markdown FILE MODE           check a Markdown summary of DIR/files
  markdown-cap FILE N          check a summary of N files is capped
  sarif-dist FILE              a SARIF report of the files checked as dist/
"""
import hashlib
import json
import os
import re
import sys
import urllib.parse

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
RULE_SH = 'no <scripts> & "shells" {0}'
BINARY = bytes(range(256)) * 2  # libmagic: application/octet-stream

# name -> (how to make it, verdict, policy rule or None, content)
FILES = {
    b"a.txt": ("file", "allow", "text files", b"hello\n"),
    # a rule whose id slug is that of "text files": both get a hash suffix
    b"b.md": ("file", "allow", "Text  Files!", b"# hi\n"),
    b"run.sh": ("file", "deny", RULE_SH, b"#!/bin/sh\necho hi\n"),
    # spaces, markup, quotes, a UTF-8 letter, a byte that is not UTF-8, braces
    b"we ird <&'\"\xc3\xa9\xff {1}.bin": ("file", "deny", "signed-binaries", BINARY),
    b"data.dat": ("file", "deny", None, BINARY[:300]),
    # control characters that XML 1.0 cannot carry at all, and a newline
    b"ctl\x01\x1b\nname.dat": ("file", "deny", None, BINARY[:100]),
    # a name that spells an escape: told apart from one holding the byte
    b"lit\\x1b.dat": ("file", "deny", None, BINARY[:50]),
    b"pipe": ("fifo", "error", None, None),
    # an embedded-link look-alike and a placeholder in a path quoted by the reason
    b"link [x](javascript:alert(1)) {0}.txt": ("symlink", "error", None, None),
}
COUNTS = {
    "allow": sum(1 for f in FILES.values() if f[1] == "allow"),
    "deny": sum(1 for f in FILES.values() if f[1] == "deny"),
    "error": sum(1 for f in FILES.values() if f[1] == "error"),
}

POLICY = """version: 1
mode: %s
signers:
  release:
    - keyless:
        issuer: https://token.actions.githubusercontent.com
        identity: https://github.com/example/app/.github/workflows/release.yml@refs/heads/main
rules:
  - name: '%s'
    match:
      path: ["**/*.sh"]
    decision: deny
  - name: 'Text  Files!'
    match:
      path: ["**/*.md"]
    decision: allow
  - name: text files
    match:
      type: [text/plain]
    decision: allow
  - name: signed-binaries
    match:
      path: ["**/*.bin"]
    require:
      signers: release
"""

# RFC 3986 URI-reference, checked by hand too (jsonschema needs extra
# modules to check "uri-reference").
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
_SEG_NC = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=@]|%[0-9A-Fa-f]{2})"
URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(?://[^/?#]*)?(?:/%s*)*$" % _PCHAR)
REL_RE = re.compile(r"^(?:/?%s+(?:/%s*)*|/)$" % (_SEG_NC, _PCHAR))

failures = 0


def report(name, ok, why=""):
    global failures
    if ok:
        print("PASS " + name)
    else:
        failures += 1
        print("FAIL %s: %s" % (name, why))


def expect(name, got, want):
    report(name, got == want, "got %r, want %r" % (got, want))


def xml_text(b):
    """What a JUnit report shows for bytes b, on one line and reversibly: a
    backslash doubled; control characters (newline and tab too), C1
    controls and bytes that are not UTF-8 as \\xNN; characters XML 1.0
    cannot carry as \\uNNNN."""
    out = []
    for c in b.decode("utf-8", "surrogateescape"):
        o = ord(c)
        if 0xDC80 <= o <= 0xDCFF:
            out.append("\\x%02x" % (o - 0xDC00))
        elif c == "\\":
            out.append("\\\\")
        elif o < 0x20 or o == 0x7F or 0x80 <= o < 0xA0:
            out.append("\\x%02x" % o)
        elif o in (0xFFFE, 0xFFFF):
            out.append("\\u%04x" % o)
        else:
            out.append(c)
    return "".join(out)


def rule_slug(name):
    """gate's SARIF id of a policy rule name, before collisions."""
    out = "policy/"
    for b in name.encode():
        if len(out) >= 7 + 48:
            break
        c = chr(b).lower() if b < 0x80 else "\0"
        if c.isascii() and c.isalnum():
            out += c
        elif out[-1] not in "-/":
            out += "-"
    out = out.rstrip("-")
    return out + "-" if out.endswith("/") else out


def fnv1a(name):
    h = 2166136261
    for b in name.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def rule_ids(names):
    """name -> SARIF id for the policy rules that decided a file."""
    slugs = {n: rule_slug(n) for n in names}
    return {n: s + ("-%08x" % fnv1a(n) if list(slugs.values()).count(s) > 1 else "")
            for n, s in slugs.items()}


POLICY_IDS = rule_ids({f[2] for f in FILES.values() if f[2]})


def expected_rule_id(verdict, rule):
    return "error" if verdict == "error" else POLICY_IDS[rule] if rule else "no-rule"


def expected_junit_class(verdict, rule):
    return "error" if verdict == "error" else rule if rule else "no-rule"


def setup(d):
    os.makedirs(os.path.join(d, "files"))
    for mode in ("enforce", "audit"):
        with open(os.path.join(d, "policy-%s.yaml" % mode), "w") as f:
            f.write(POLICY % (mode, RULE_SH))
    fd = os.open(os.path.join(d, "files").encode(), os.O_RDONLY)
    try:
        for name, (kind, _, _, content) in FILES.items():
            if kind == "file":
                with open(name, "wb", opener=lambda p, fl: os.open(p, fl, 0o644, dir_fd=fd)) as f:
                    f.write(content)
            elif kind == "fifo":
                os.mkfifo(name, dir_fd=fd)
            else:
                os.symlink(b"a.txt", name, dir_fd=fd)
    finally:
        os.close(fd)


def load_json(path, name):
    try:
        with open(path, encoding="utf-8") as f:  # strict UTF-8
            return json.load(f)
    except (ValueError, OSError) as e:
        report(name + ": parses as UTF-8 JSON", False, str(e))
        return None


def check_sarif(path, mode):
    o = load_json(path, "sarif")
    if o is None:
        return
    report("sarif: parses as UTF-8 JSON", True)
    expect("sarif: $schema", o.get("$schema"), SCHEMA_URI)
    expect("sarif: version", o.get("version"), "2.1.0")
    runs = o.get("runs")
    expect("sarif: one run", isinstance(runs, list) and len(runs), 1)
    if not runs:
        return
    run = runs[0]
    driver = run.get("tool", {}).get("driver", {})
    expect("sarif: driver name", driver.get("name"), "gate")
    report("sarif: driver version", isinstance(driver.get("version"), str) and driver["version"],
           repr(driver.get("version")))
    rules = driver.get("rules", [])
    ids = [r.get("id") for r in rules]
    want_ids = {"no-rule", "error"} | set(POLICY_IDS.values())
    expect("sarif: rule ids", sorted(ids), sorted(want_ids))
    expect("sarif: rule ids are unique", len(set(ids)), len(ids))
    report("sarif: policy rule ids are slugs",
           all(re.fullmatch(r"policy/[a-z0-9-]+", i) for i in ids[2:]), repr(ids))
    report("sarif: colliding slugs get a hash of the name",
           all(re.fullmatch(r"policy/text-files-[0-9a-f]{8}", POLICY_IDS[n])
               for n in ("text files", "Text  Files!")) and
           POLICY_IDS["text files"] in ids and POLICY_IDS["Text  Files!"] in ids, repr(ids))
    names = {r.get("id"): r.get("name") for r in rules}
    expect("sarif: a policy rule's name is the rule's name",
           {names.get(POLICY_IDS[n]) for n in POLICY_IDS}, set(POLICY_IDS))
    for field in ("name", "shortDescription", "help"):
        report("sarif: every rule has %s" % field, all(r.get(field) for r in rules),
               repr([r.get("id") for r in rules if not r.get(field)]))
    info = driver.get("informationUri", "")
    report("sarif: driver.informationUri is an absolute URI", bool(URI_RE.match(info)) or
           re.fullmatch(r"[a-z][a-z0-9+.-]*:[^\s]+", info or "") is not None, repr(info))

    arts = run.get("artifacts", [])
    expect("sarif: one artifact per file", len(arts), len(FILES))
    results = run.get("results", [])
    expect("sarif: one result per denied or undecided file", len(results),
           COUNTS["deny"] + COUNTS["error"])

    # Every URI is a valid URI reference and decodes to the exact path bytes.
    uris = [a.get("location", {}).get("uri", "") for a in arts]
    bad = [u for u in uris if not (REL_RE.match(u) or URI_RE.match(u))]
    report("sarif: artifact URIs are RFC 3986 URI references", not bad, repr(bad))
    decoded = {urllib.parse.unquote_to_bytes(u): i for i, u in enumerate(uris)}
    expect("sarif: artifact URIs decode to the paths", sorted(decoded),
           sorted(b"files/" + n for n in FILES))
    report("sarif: relative URIs carry uriBaseId %SRCROOT%",
           all(a["location"].get("uriBaseId") == "%SRCROOT%" for a in arts), "missing")
    for name, (kind, verdict, rule, content) in FILES.items():
        i = decoded.get(b"files/" + name)
        if i is None or kind != "file":
            continue
        a = arts[i]
        expect("sarif: sha-256 of %r" % name, a.get("hashes", {}).get("sha-256"),
               hashlib.sha256(content).hexdigest())
        expect("sarif: length of %r" % name, a.get("length"), len(content))

    seen = set()
    level = "error" if mode == "enforce" else "warning"
    for r in results:
        locs = r.get("locations", [])
        al = locs[0].get("physicalLocation", {}).get("artifactLocation", {}) if locs else {}
        key = urllib.parse.unquote_to_bytes(al.get("uri", ""))
        name = key[len(b"files/"):]
        tag = "sarif result %r" % name
        if name not in FILES:
            report(tag + ": names a checked file", False, repr(key))
            continue
        seen.add(name)
        kind, verdict, rule, content = FILES[name]
        expect(tag + ": ruleId", r.get("ruleId"), expected_rule_id(verdict, rule))
        ri = r.get("ruleIndex", -1)
        expect(tag + ": ruleIndex names its rule", ids[ri] if 0 <= ri < len(ids) else None,
               r.get("ruleId"))
        expect(tag + ": artifact index", al.get("index"), decoded.get(key))
        expect(tag + ": region.startLine", locs[0].get("physicalLocation", {}).get(
            "region", {}).get("startLine"), 1)
        expect(tag + ": kind", r.get("kind"), "fail")
        expect(tag + ": level", r.get("level"), level)
        p = r.get("properties", {})
        expect(tag + ": verdict", p.get("verdict"), verdict)
        expect(tag + ": enforced", p.get("enforced"), mode == "enforce")
        expect(tag + ": mode", p.get("mode"), mode)
        text = r.get("message", {}).get("text", "")
        report(tag + ": message", bool(text), "empty")
        # Message strings: "{" "}" doubled, no embedded link can form.
        report(tag + ": message braces doubled",
               all(len(m) % 2 == 0 for m in re.findall(r"\{+|\}+", text)), repr(text))
        report(tag + ": message has no embedded link", "](" not in text, repr(text))
        report(tag + ": partialFingerprints", bool(r.get("partialFingerprints")), "missing")
        if kind == "file":
            expect(tag + ": properties.sha256", p.get("sha256"),
                   hashlib.sha256(content).hexdigest())
        if rule == "signed-binaries":
            reqs = p.get("requirements", [])
            report(tag + ": signers requirement not held",
                   any(q.get("requirement") == "signers" and q.get("held") is False
                       for q in reqs), repr(reqs))
        if name.startswith(b"link "):
            report(tag + ": placeholder in the path is doubled", "{{0}}" in text, repr(text))
    expect("sarif: results cover exactly the denied and undecided files", sorted(seen),
           sorted(n for n, f in FILES.items() if f[1] != "allow"))
    props = run.get("properties", {})
    expect("sarif: run counts",
           (props.get("allowed"), props.get("denied"), props.get("errors")),
           (COUNTS["allow"], COUNTS["deny"], COUNTS["error"]))


def check_sarif_dist(path):
    """A report of the same files made by a CI template, under dist/."""
    o = load_json(path, "sarif-dist")
    if o is None:
        return
    run = o["runs"][0]
    uris = sorted(urllib.parse.unquote_to_bytes(a["location"]["uri"]) for a in run["artifacts"])
    expect("sarif-dist: every file, under dist/", uris, sorted(b"dist/" + n for n in FILES))
    expect("sarif-dist: one result per denied or undecided file", len(run["results"]),
           COUNTS["deny"] + COUNTS["error"])


def check_sarif_abs(path):
    o = load_json(path, "sarif-abs")
    if o is None:
        return
    arts = o["runs"][0].get("artifacts", [])
    uris = [a["location"]["uri"] for a in arts]
    report("sarif-abs: absolute paths become file:/// URIs",
           bool(uris) and all(u.startswith("file:///") and URI_RE.match(u) for u in uris),
           repr(uris))
    report("sarif-abs: no uriBaseId on absolute URIs",
           all("uriBaseId" not in a["location"] for a in arts), "present")
    cwd = os.getcwd().encode()
    got = sorted(urllib.parse.unquote_to_bytes(u[len("file://"):]) for u in uris)
    want = sorted(cwd + b"/files/" + n for n, f in FILES.items() if f[0] == "file")
    expect("sarif-abs: URIs decode to the absolute paths", got, want)


def check_junit(path, mode):
    import xml.etree.ElementTree as ET

    raw = open(path, "rb").read()
    report("junit: no raw control characters",
           not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", raw), "found")
    try:
        raw.decode("utf-8")
        report("junit: UTF-8", True)
    except UnicodeDecodeError as e:
        report("junit: UTF-8", False, str(e))
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as e:
        report("junit: well-formed XML", False, str(e))
        return
    report("junit: well-formed XML", True)
    n, f, e = len(FILES), COUNTS["deny"], COUNTS["error"]
    want = {"tests": str(n), "failures": str(f), "errors": str(e)}
    expect("junit: root", root.tag, "testsuites")
    expect("junit: testsuites counts", {k: root.get(k) for k in want}, want)
    suites = root.findall("testsuite")
    expect("junit: one testsuite", len(suites), 1)
    if not suites:
        return
    s = suites[0]
    expect("junit: testsuite name", s.get("name"), "gate check")
    expect("junit: testsuite counts", {k: s.get(k) for k in want}, want)
    cases = s.findall("testcase")
    expect("junit: one testcase per file", len(cases), n)
    expect("junit: failure elements", len(s.findall("testcase/failure")), f)
    expect("junit: error elements", len(s.findall("testcase/error")), e)
    expect("junit: no skipped elements", len(s.findall(".//skipped")), 0)
    byname = {c.get("name"): c for c in cases}
    expect("junit: testcase names are the paths", sorted(byname),
           sorted(xml_text(b"files/" + k) for k in FILES))
    for name, (kind, verdict, rule, content) in FILES.items():
        c = byname.get(xml_text(b"files/" + name))
        tag = "junit %r" % name
        if c is None:
            continue
        expect(tag + ": classname", c.get("classname"),
               "gate." + expected_junit_class(verdict, rule))
        children = [x.tag for x in c]
        want_child = {"allow": [], "deny": ["failure"], "error": ["error"]}[verdict]
        expect(tag + ": outcome", children, want_child)
        if not want_child:
            continue
        x = c[0]
        expect(tag + ": type", x.get("type"), "deny" if verdict == "deny" else "error")
        msg = x.get("message") or ""
        report(tag + ": message", bool(msg), "empty")
        if mode == "audit":
            report(tag + ": audit marked", msg.startswith("[audit: not enforced] "), repr(msg))
        body = x.text or ""
        report(tag + ": details name the path", "path: " + xml_text(b"files/" + name) in body,
               repr(body))
        report(tag + ": no line of the details comes from a file name",
               not any(l.startswith("name.dat") for l in body.splitlines()), repr(body))
        report(tag + ": the message is one line", "\n" not in msg, repr(msg))
        if kind == "file":
            report(tag + ": details give the digest",
                   "sha256: " + hashlib.sha256(content).hexdigest() in body, repr(body))


MD_PUNCT = "!#$()*+-:@[]^_`{|}~\\"


def md_cells(line):
    """The cells of a table row, split at pipes that are not escaped."""
    cells, cur, i = [], "", 0
    body = line.strip()
    if not (body.startswith("|") and body.endswith("|") and not body.endswith("\\|")):
        return None
    body = body[1:-1]
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            cur += body[i:i + 2]
            i += 2
            continue
        if body[i] == "|":
            cells.append(cur.strip())
            cur = ""
        else:
            cur += body[i]
        i += 1
    cells.append(cur.strip())
    return cells


def md_unescape(cell):
    out, i = "", 0
    while i < len(cell):
        if cell[i] == "\\" and i + 1 < len(cell) and cell[i + 1] in MD_PUNCT:
            out += cell[i + 1]
            i += 2
        elif cell.startswith("&amp;", i):
            out, i = out + "&", i + 5
        elif cell.startswith("&lt;", i):
            out, i = out + "<", i + 4
        elif cell.startswith("&gt;", i):
            out, i = out + ">", i + 4
        else:
            out, i = out + cell[i], i + 1
    return out


def md_rows(path, name):
    text = open(path, encoding="utf-8").read()
    lines = text.splitlines()
    rows = [l for l in lines if l.startswith("| ") and not l.startswith("| Decision")
            and not l.startswith("| ---")]
    return text, lines, rows


def check_markdown(path, mode):
    text, lines, rows = md_rows(path, "markdown")
    n, f, e = len(FILES), COUNTS["deny"], COUNTS["error"]
    report("markdown: counts first", bool(lines) and "**%d allowed, %d denied, %d errors**" % (
        COUNTS["allow"], f, e) in "\n".join(lines[:3]), repr(lines[:3]))
    report("markdown: table header", "| Decision | File | Rule | Reason |" in lines, repr(lines))
    expect("markdown: one row per file", len(rows), n)
    cells = [md_cells(r) for r in rows]
    report("markdown: every row has 4 cells (pipes escaped)",
           all(c is not None and len(c) == 4 for c in cells), repr(rows))
    cells = [c for c in cells if c and len(c) == 4]
    # Nothing from a file name can open code, a link, HTML or a new line.
    for c in cells:
        bare = re.sub(r"\\.", "", " ".join(c[1:]))
        report("markdown: no unescaped markup in %r" % c[1][:40],
               not re.search(r"[`<>\[\]()*_$@]", bare), repr(c))
    kinds = [c[0].split()[1] if len(c[0].split()) > 1 else "" for c in cells]
    expect("markdown: denials and errors first", kinds,
           sorted(kinds, key=lambda k: k == "allow"))
    paths = sorted(md_unescape(c[1]) for c in cells)
    expect("markdown: file cells unescape to the paths (as the text report shows them)",
           paths, sorted(xml_text(b"files/" + k) for k in FILES))
    for c in cells:
        name = md_unescape(c[1])
        for k, (kind, verdict, rule, _) in FILES.items():
            if xml_text(b"files/" + k) != name:
                continue
            want = rule or ("(none)" if verdict == "error" else "(no rule)")
            expect("markdown %r: rule" % name, md_unescape(c[2]), want)
            report("markdown %r: decision" % name, verdict in c[0], c[0])
            if mode == "audit" and verdict != "allow":
                report("markdown %r: audit marked" % name, "not enforced" in c[0], c[0])
            report("markdown %r: reason" % name, bool(md_unescape(c[3])), c[3])


def check_markdown_cap(path, n):
    n = int(n)
    text, lines, rows = md_rows(path, "markdown-cap")
    expect("markdown-cap: rows capped at 100", len(rows), 100)
    report("markdown-cap: the rest counted", "and %d more" % (n - 100) in text, text[-200:])


def check_junitparser(path, mode):
    import junitparser

    xml = junitparser.JUnitXml.fromfile(path)
    suites = list(xml) if isinstance(xml, junitparser.JUnitXml) else [xml]
    expect("junitparser: one suite", len(suites), 1)
    s = suites[0]
    expect("junitparser: counts", (s.tests, s.failures, s.errors, s.skipped),
           (len(FILES), COUNTS["deny"], COUNTS["error"], 0))
    kinds = {"failure": 0, "error": 0, "pass": 0}
    for case in s:
        res = case.result
        if not res:
            kinds["pass"] += 1
        for r in res:
            if isinstance(r, junitparser.Failure):
                kinds["failure"] += 1
            elif isinstance(r, junitparser.Error):
                kinds["error"] += 1
    expect("junitparser: outcomes", kinds,
           {"failure": COUNTS["deny"], "error": COUNTS["error"], "pass": COUNTS["allow"]})


def check_jsonschema(schema_path, path):
    import jsonschema

    schema = json.load(open(schema_path, encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    v = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errs = sorted(v.iter_errors(json.load(open(path, encoding="utf-8"))), key=str)
    report("jsonschema: %s valid (%s)" % (os.path.basename(path), cls.__name__), not errs,
           "; ".join("%s: %s" % ("/".join(map(str, e.absolute_path)), e.message)
                     for e in errs[:3]))


def check_ci_yaml(d):
    import yaml

    def load(name):
        try:
            with open(os.path.join(d, name)) as f:
                doc = yaml.safe_load(f)
            report("ci-yaml: %s parses" % name, isinstance(doc, dict), type(doc).__name__)
            return doc if isinstance(doc, dict) else {}
        except (OSError, yaml.YAMLError) as e:
            report("ci-yaml: %s parses" % name, False, str(e))
            return {}

    gh = load("github-actions.yml")
    # PyYAML reads the key "on" as True (YAML 1.1).
    report("ci-yaml: workflow has triggers", "on" in gh or True in gh, repr(list(gh)))
    steps = [s for j in gh.get("jobs", {}).values() for s in j.get("steps", [])]
    uses = [s.get("uses", "") for s in steps]
    runs = "\n".join(s.get("run", "") for s in steps)
    report("ci-yaml: workflow uploads SARIF",
           any(u.startswith("github/codeql-action/upload-sarif@") for u in uses), repr(uses))
    report("ci-yaml: workflow uploads the JUnit report",
           any(u.startswith("actions/upload-artifact@") for u in uses), repr(uses))
    gate = [s for s in steps if re.fullmatch(r"(OWNER/gate@\S+|\./)", s.get("uses", ""))]
    report("ci-yaml: workflow runs gate's action", len(gate) == 1, repr(uses))
    w = gate[0].get("with", {}) if gate else {}
    report("ci-yaml: the action is given the policy, paths and report files",
           {"policy", "paths", "sarif-file", "junit-file"} <= set(w), repr(w))
    report("ci-yaml: uploads run after a failed check",
           all(s.get("if", "").startswith("always()") for s in steps
               if s.get("uses", "").startswith(("github/codeql", "actions/upload"))), "")
    perms = [j.get("permissions", {}) for j in gh.get("jobs", {}).values()] + [
        gh.get("permissions", {})]
    report("ci-yaml: workflow may write security events",
           any(isinstance(p, dict) and p.get("security-events") == "write" for p in perms),
           repr(perms))



def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "setup":
        setup(args[0])
    elif cmd == "sarif":
        check_sarif(*args)
    elif cmd == "sarif-dist":
        check_sarif_dist(*args)
    elif cmd == "sarif-abs":
        check_sarif_abs(*args)
    elif cmd == "junit":
        check_junit(*args)
    elif cmd == "junitparser":
        check_junitparser(*args)
    elif cmd == "jsonschema":
        check_jsonschema(*args)
    elif cmd == "ci-yaml":
        check_ci_yaml(*args)
    elif cmd == "markdown":
        check_markdown(*args)
    elif cmd == "markdown-cap":
        check_markdown_cap(*args)
    else:
        sys.exit("unknown subcommand " + cmd)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
