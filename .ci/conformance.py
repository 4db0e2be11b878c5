"""Runs scim2-tester and scim-sanity against a SCIM server and compares their failures with the
by-design list of README "Conformance" (the table between the `by-design` markers).

Usage: conformance.py BASE_URL README (the bearer token in CONFORMANCE_TOKEN). Prints, per suite,
the passed and failed counts and each failing check; exits 1 when a check fails that the list
does not name; a listed check that did not fail is noted (an earlier failure may have hidden it).
"""

import fnmatch
import json
import os
import subprocess
import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.DEVIATION}
FAILED = {Status.ERROR, Status.CRITICAL}


def by_design(readme):
    """(suite, pattern, reason) rows of README's by-design table."""
    rows, inside = [], False
    with open(readme, encoding="utf-8") as f:
        for line in f:
            if "<!-- by-design:start -->" in line:
                inside = True
            elif "<!-- by-design:end -->" in line:
                inside = False
            elif inside and line.startswith("|"):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if len(cells) >= 3 and cells[0] in ("scim2-tester", "scim-sanity"):
                    rows.append((cells[0], cells[1].strip("`"), cells[2]))
    return rows


def scim2_tester(base, token):
    """[(name, passed, reason)] of every check scim2-tester ran (skipped ones left out)."""
    client = SyncSCIMClient(
        httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    )
    out = []
    for r in check_server(client):
        if r.status == Status.SKIPPED:
            continue
        name = " ".join(p for p in (r.resource_type, r.title) if p)
        if isinstance(r.data, dict) and r.data.get("urn"):
            name += f" {r.data['urn']}"
        out.append((name, r.status in PASSED, (r.reason or r.status.name) if os.environ.get("CONFORMANCE_VERBOSE") else (r.reason or r.status.name).splitlines()[0]))
    return out


def scim_sanity(base, token):
    """[(name, passed, reason)] of every check scim-sanity's probe ran (skipped ones left out)."""
    probe = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "scim-sanity"),
            "probe", base, "--token", token, "--i-accept-side-effects", "--json-output",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(probe.stdout)
    except json.JSONDecodeError:
        sys.exit(f"scim-sanity printed no report (exit {probe.returncode}):\n{probe.stderr}")
    return [
        (r["name"], r["status"] == "pass", r.get("message", r["status"]))
        for r in report["results"]
        if r["status"] != "skip"
    ]


def main():
    base, readme = sys.argv[1], sys.argv[2]
    token = os.environ["CONFORMANCE_TOKEN"]
    expected = by_design(readme)
    unexpected, stale = [], []
    for suite, run in (("scim2-tester", scim2_tester), ("scim-sanity", scim_sanity)):
        results = run(base, token)
        failed = [(n, why) for n, ok, why in results if not ok]
        print(f"\n{suite}: {len(results) - len(failed)} passed, {len(failed)} failed")
        patterns = [(p, why) for s, p, why in expected if s == suite]
        for name, why in failed:
            known = next((p for p, _ in patterns if fnmatch.fnmatchcase(name, p)), None)
            mark = "by design" if known else "FAILED"
            print(f"  {mark}: {name}: {why}")
            if not known:
                unexpected.append(f"{suite}: {name}")
        for pattern, _ in patterns:
            if not any(fnmatch.fnmatchcase(n, pattern) for n, _ in failed):
                stale.append(f"{suite}: {pattern}")
    for s in stale:
        print(f"  note: on README's by-design list but did not fail this run: {s}")
    if unexpected:
        print(f"\n{len(unexpected)} failure(s) not on README's by-design list")
        sys.exit(1)
    print("\nevery failure is on README's by-design list")


if __name__ == "__main__":
    main()
