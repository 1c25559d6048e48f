"""The dynamic security scan of issue #18 (point 5): wapiti against the production stack, signed in.

`bin/scan` runs this module. It starts the README's production stack (stack.py: deploy/'s nginx
with TLS, gunicorn, two workers, beat, PostgreSQL, Redis, the Graph emulator), seeds what a CRM
user sees (the demo data set of devtools/demo.py and the demo Outlook mailboxes), then runs wapiti
(its own virtualenv, var/scan-venv, from requirements-scan.txt) once per role: signed in as the CRM
user MTREMBLAY, then as the administrator ADMIN, each with the session cookie of a sign-in through
nginx. Each report lands in var/scan/<role>/report.json; each finding, vulnerability or anomaly
(a 500 answer, a timeout), either is listed in docs/scan-accepted.json with the reason it is no
risk, or fails the run. The summary lines go to standard output and to var/scan/summary.txt.

Kept out of the scan, with the reasons the README gives: the sign-out (it would end the scan's
session), the administrator's own record (a payload in « Actif » or « Date d'expiration » signs
the scanner out), the destructive administrator screens (destroying and deactivating users, the
Django admin's deletions). The modules that would contact wapiti's servers on the Internet (ssrf,
xxe, log4shell: an endpoint of wapiti3.ovh; ssl: crt.sh; wapp and nikto: their databases online)
are not run: this machine reaches no network but its package registries.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import stack

ROOT = stack.ROOT
SCAN_VENV = ROOT / "var" / "scan-venv"
OUTPUT = ROOT / "var" / "scan"
ACCEPTED = ROOT / "docs" / "scan-accepted.json"
DEMO_PASSWORD = "prextra-demo"  # nosec B105 # the demo's documented sign-in (devtools/demo.py)
ADMIN_MAILBOX = "admin@prextra-demo.ca"
MAILBOXES = [f"{code}@prextra-demo.ca" for code in ("admin", "mtremblay", "jgagnon", "sroy")]
REDIS_DBS = (8, 9)  # never the production-stack test's 10 and 11, nor bin/test's 14 and 15
# Injection, XSS, CRLF, redirect, CSRF, headers and cookies (the issue), and a few more that need
# nothing outside this machine.
MODULES = [
    "exec",
    "file",
    "sql",
    "xss",
    "permanentxss",
    "crlf",
    "redirect",
    "csrf",
    "http_headers",
    "cookieflags",
    "csp",
    "methods",
    "htaccess",
    "upload",
]
# Path patterns (wapiti wildcards, after the base URL) that are never crawled nor attacked.
EXCLUDED = {
    "both": ["/deconnexion/*", "/admin/logout/*"],
    "admin": [
        "/administration/utilisateurs/{admin_pk}/modifier/*",
        "/administration/utilisateurs/*/detruire/*",
        "/administration/utilisateurs/*/desactiver/*",
        "/admin/*/delete/*",
        "/admin/accounts/user/{admin_pk}/*",
    ],
    "crm": [],
}


@dataclass
class Role:
    name: str  # crm or admin
    code: str
    password: str


ROLES = [Role("crm", "MTREMBLAY", DEMO_PASSWORD), Role("admin", "ADMIN", stack.PASSWORD)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roles", default="crm,admin", help="comma-separated: crm, admin")
    parser.add_argument("--max-scan-time", type=int, default=120, help="seconds of crawling per role")
    parser.add_argument("--max-attack-time", type=int, default=60, help="seconds per attack module and role")
    parser.add_argument("--scan-force", default="sneaky", help="wapiti's -S: fewer URLs of one pattern")
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--max-links-per-page", type=int, default=30)
    parser.add_argument("--modules", default=",".join(MODULES))
    options = parser.parse_args(argv)
    roles = [role for role in ROLES if role.name in options.roles.split(",")]
    wapiti = SCAN_VENV / "bin" / "wapiti"
    assert wapiti.exists(), "bin/scan creates var/scan-venv from requirements-scan.txt"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    accepted = json.loads(ACCEPTED.read_text())["accepted"]
    folder = OUTPUT / "stack"
    subprocess.run(["rm", "-rf", str(folder)], check=True)
    folder.mkdir()
    started = time.monotonic()
    lines, open_findings = [], 0
    with (
        stack.own_database(f"prextra_scan_{os.getpid()}", redis_dbs=REDIS_DBS) as database_url,
        stack.production_stack(
            folder, database_url, admin_email=ADMIN_MAILBOX, mailboxes=MAILBOXES, redis_dbs=REDIS_DBS
        ) as running,
    ):
        print(f"==> Production stack at {running.base}; seeding the demo data", flush=True)
        seed(running)
        admin_pk = stack.count(database_url, "SELECT id FROM accounts_user WHERE code = 'ADMIN'")
        for role in roles:
            print(f"==> wapiti as {role.code} ({role.name})", flush=True)
            role_started, served = time.monotonic(), running.requests_served()
            report = scan(running, role, options, wapiti, admin_pk)
            served = running.requests_served() - served
            crawled = [page["request"] for page in report["infos"].get("crawled_pages", [])]
            crawled = [request for request in crawled if request.get("status_code")]
            posts = sum(request["method"] == "POST" for request in crawled)
            findings = flatten(report)
            left = [finding for finding in findings if not accepted_reason(finding, role.name, accepted)]
            open_findings += len(left)
            line = (
                f"{role.name} ({role.code}): {len(crawled) - posts} URLs and {posts} forms crawled, {served} requests, "
                f"{len(findings)} findings, {len(findings) - len(left)} accepted, {len(left)} open, "
                f"{time.monotonic() - role_started:.0f} s"
            )
            lines.append(line)
            for finding in left:
                lines.append(f"    OPEN {finding['kind']} {finding['category']}: {describe(finding)}")
        errors = server_errors(running)
    lines.append(
        f"wapiti {wapiti_version(wapiti)}, modules {options.modules}; "
        f"{errors} answers 500 or more in nginx's log; {time.monotonic() - started:.0f} s in all"
    )
    if errors:
        open_findings += errors
        lines.append("    OPEN server errors: see var/scan/stack/nginx-access.log and web.log")
    summary = "\n".join(lines)
    (OUTPUT / "summary.txt").write_text(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n{summary}\n")
    print(summary)
    return 1 if open_findings else 0


def seed(running: stack.Stack) -> None:
    """What a CRM user sees: the Microsoft 365 connection to the stack's emulator (as the
    administrator registers it), the demo data set (users, 62 companies, their contacts and
    activities) and the demo Outlook contacts and meetings, which the workers then synchronize."""
    connection = (
        "from exchange.models import GraphConnection\n"
        "c = GraphConnection(tenant_id='prextra-demo', client_id='prextra-sync-demo', "
        f"authority_host={running.emulator_url!r}, graph_url={running.emulator_url + '/v1.0'!r}, "
        f"ca_file={running.ca_file!r})\n"
        "c.set_secret('demo-secret')\n"
        "c.save()\n"
    )
    stack.manage(running.env, "shell", "-c", connection)
    # devtools is absent from a production installation: the demo commands run with the
    # development settings, on the stack's database.
    development = {"PREXTRA_ENV": "development", "DJANGO_DEBUG": "false"}
    stack.manage(running.env, "load_demo", input_env=development)
    emulator = ["--emulator", running.emulator_url, "--ca-file", running.ca_file]
    stack.manage(running.env, "seed_demo_outlook", *emulator, input_env=development)


def scan(running: stack.Stack, role: Role, options, wapiti: Path, admin_pk: int) -> dict:
    folder = OUTPUT / role.name
    subprocess.run(["rm", "-rf", str(folder)], check=True)
    folder.mkdir()
    client = stack.client_from("127.0.0.1", running.cert)
    assert stack.sign_in(client, running.base, role.code, role.password) == "signed in", role.code
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in client.cookies)
    report = folder / "report.json"
    argv = [str(wapiti), "-u", f"{running.base}/", "--scope", "folder", "-m", options.modules]
    argv += ["-S", options.scan_force, "-C", cookies, "-d", str(options.depth)]
    argv += ["--max-links-per-page", str(options.max_links_per_page)]
    argv += ["--max-scan-time", str(options.max_scan_time), "--max-attack-time", str(options.max_attack_time)]
    argv += ["--flush-session", "--store-session", str(folder / "session"), "--store-config", str(folder / "config")]
    # Nothing goes to wapiti's servers: no bug report, and the endpoints are a closed local port.
    argv += ["--no-bugreport", "--endpoint", "https://127.0.0.1:9/", "--dns-endpoint", "127.0.0.1"]
    argv += ["-t", "15", "--verify-ssl", "0", "-f", "json", "-o", str(report), "-dr", "1"]
    argv += ["--log", str(folder / "wapiti.log"), "-v", "1"]
    for pattern in EXCLUDED["both"] + EXCLUDED[role.name]:
        argv += ["-x", running.base + pattern.format(admin_pk=admin_pk)]
    (folder / "command.txt").write_text(" ".join(argv).replace(cookies, "<session cookies>") + "\n")
    with open(folder / "wapiti.out", "wb") as out:
        result = subprocess.run(argv, cwd=folder, stdout=out, stderr=subprocess.STDOUT, timeout=3600)
    assert result.returncode == 0 and report.exists(), f"wapiti failed: see {folder / 'wapiti.out'}"
    # The session must have lasted the whole scan: else the report is that of a signed-out visitor.
    still = client.get(f"{running.base}/", allow_redirects=False, timeout=10)
    assert still.status_code == 200, f"{role.code} was signed out during the scan ({still.status_code})"
    return json.loads(report.read_text())


def flatten(report: dict) -> list[dict]:
    findings = []
    for kind in ("vulnerabilities", "anomalies"):
        for category, items in report.get(kind, {}).items():
            findings += [dict(item, kind=kind, category=category) for item in items]
    return findings


def accepted_reason(finding: dict, role: str, accepted: list[dict]) -> str:
    """The reason of the first accepted entry that matches the finding, else ""."""
    for entry in accepted:
        if entry.get("role", role) != role or entry["category"] != finding["category"]:
            continue
        if not re.fullmatch(entry.get("path", ".*"), finding["path"]):
            continue
        if entry.get("info") and entry["info"] not in finding["info"]:
            continue
        return entry["reason"]
    return ""


def describe(finding: dict) -> str:
    parameter = f" [{finding['parameter']}]" if finding.get("parameter") else ""
    return f"{finding['method']} {finding['path']}{parameter} ({finding['module']}): {finding['info'][:200]}"


def server_errors(running: stack.Stack) -> int:
    """Answers 500 and above in nginx's access log (combined format: the status after the request)."""
    log = (running.folder / "nginx-access.log").read_text(errors="replace")
    return len(re.findall(r'" 5\d\d ', log))


def wapiti_version(wapiti: Path) -> str:
    out = subprocess.run([str(wapiti), "--version"], capture_output=True, text=True).stdout
    found = re.search(r"Wapiti (\d[\w.]*)", out)
    return found.group(1) if found else out.strip()


if __name__ == "__main__":
    sys.exit(main())
