"""The dynamic security scan: wapiti against the production stack, signed in.

`bin/scan` runs this module. It starts the README's production stack (stack.py: deploy/'s nginx
with TLS, gunicorn, two workers, beat, PostgreSQL, Redis, the Graph emulator), seeds what a CRM
user sees (the demo data set of devtools/demo.py and the demo Outlook mailboxes), then runs wapiti
(its own virtualenv, var/scan-venv, from requirements-scan.txt) once per role: signed in as the CRM
user MTREMBLAY, then as the administrator ADMIN, each with the session cookie of a sign-in through
nginx: the crawl first, then (one URL or form of each kind kept) the attacks. Each report lands in
var/scan/<role>/report.json; each finding, whether vulnerability, anomaly (a 500 answer, a
timeout) or additional information, is either listed in docs/scan-accepted.json with the reason
it is no risk, or fails the run, as does any answer 500 in nginx's log. The summary lines go to
standard output and to var/scan/summary.txt.

Kept out of the scan, with the reasons the README gives: the sign-out (it would end the scan's
session), the administrator's own record (a payload in « Actif » or « Date d'expiration » signs
the scanner out), the destructive administrator screens (destroying and deactivating users, the
Django admin's deletions), and the Microsoft 365 connection screen, whose addresses the workers
connect to. The modules that would contact wapiti's servers on the Internet (ssrf,
xxe, log4shell: an endpoint of wapiti3.ovh; ssl: crt.sh; wapp and nikto: their databases online)
are not run: this machine reaches no network but its package registries.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
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
# The template's SMTP server is a real host name: a closed local port instead, so that no sign-in
# code the scan might trigger leaves this machine.
NOWHERE_ELSE = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": "9"}
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
# wapiti attacks one request at a time and this machine's web app answers several: the attacks
# run in that many processes, each with every module, on its share of the URLs and forms.
PROCESSES = 4
RECORD_KINDS = re.compile(r"/crm/(clients|prospects|fournisseurs)/")
# Path patterns (wapiti wildcards, after the base URL) that are never crawled nor attacked.
EXCLUDED = {
    "both": ["/deconnexion/*", "/admin/logout/*"],
    "admin": [
        "/administration/utilisateurs/{admin_pk}/modifier/*",
        "/administration/utilisateurs/*/detruire/*",
        "/administration/utilisateurs/*/desactiver/*",
        "/admin/*/delete/*",
        "/admin/accounts/user/{admin_pk}/*",
        # The addresses the workers and « Tester » connect to: a payload saved there (the redirect
        # module's https://openbugbounty.org/ is a valid URL) would send requests off this machine.
        "/administration/microsoft-365/*",
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
    parser.add_argument("--max-attack-time", type=int, default=150, help="seconds per attack module and role")
    parser.add_argument("--scan-force", default="sneaky", help="wapiti's -S: fewer URLs of one pattern")
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--processes", type=int, default=PROCESSES, help="attack processes, each on its share")
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
            folder,
            database_url,
            admin_email=ADMIN_MAILBOX,
            mailboxes=MAILBOXES,
            redis_dbs=REDIS_DBS,
            settings=NOWHERE_ELSE,
        ) as running,
    ):
        print(f"==> Production stack at {running.base}; seeding the demo data", flush=True)
        seed(running)
        admin_pk = stack.count(database_url, "SELECT id FROM accounts_user WHERE code = 'ADMIN'")
        for role in roles:
            print(f"==> wapiti as {role.code} ({role.name})", flush=True)
            role_started, served = time.monotonic(), running.requests_served()
            report, found, coverage = scan(running, role, options, wapiti, admin_pk)
            served = running.requests_served() - served
            findings = flatten(report)
            left = [finding for finding in findings if not accepted_reason(finding, role.name, accepted)]
            open_findings += len(left)
            line = (
                f"{role.name} ({role.code}): {found[0]} URLs and forms crawled, {found[1]} screens attacked "
                f"({found[2]} with parameters), {served} requests, "
                f"{len(findings)} findings, {len(findings) - len(left)} accepted, {len(left)} open, "
                f"{time.monotonic() - role_started:.0f} s"
            )
            lines.append(line)
            lines.append("    attacked per module: " + ", ".join(f"{name} {count}" for name, count in coverage.items()))
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


def scan(running: stack.Stack, role: Role, options, wapiti: Path, admin_pk: int) -> tuple[dict, tuple, dict]:
    """wapiti on one session file: the crawl alone, then (once `keep_one_per_pattern` has left one
    URL or form of each kind) the attacks, in PROCESSES processes, each on a copy of the session
    holding its share (`keep_share`). Returns the merged report, `keep_one_per_pattern`'s counts
    and how many URLs and forms each module attacked."""
    folder = OUTPUT / role.name
    subprocess.run(["rm", "-rf", str(folder)], check=True)
    folder.mkdir()
    client = stack.client_from("127.0.0.1", running.cert)
    assert stack.sign_in(client, running.base, role.code, role.password) == "signed in", role.code
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in client.cookies)
    common = [str(wapiti), "-u", f"{running.base}/", "--scope", "folder", "-C", cookies]
    # Nothing goes to wapiti's servers: no bug report, and the endpoints are a closed local port.
    common += ["--no-bugreport", "--endpoint", "https://127.0.0.1:9/", "--dns-endpoint", "127.0.0.1"]
    common += ["-t", "15", "--verify-ssl", "0", "-f", "json", "-dr", "1", "-v", "1"]
    for pattern in EXCLUDED["both"] + EXCLUDED[role.name]:
        common += ["-x", running.base + pattern.format(admin_pk=admin_pk)]
    crawl = ["-m", "", "--flush-session", "-S", options.scan_force, "-d", str(options.depth)]
    crawl += ["--max-links-per-page", str(options.max_links_per_page), "--max-scan-time", str(options.max_scan_time)]
    crawl += ["--store-session", str(folder / "session"), "--store-config", str(folder / "config")]
    crawl += ["-o", str(folder / "crawl.json"), "--log", str(folder / "crawl.log")]
    _wait(_wapiti(common + crawl, folder, "crawl", cookies))
    (session,) = (folder / "session").glob("*.db")
    found = keep_one_per_pattern(session)
    # The token of Django's CSRF protection is in every form: a payload there only earns a 403.
    common += ["--skip", "csrfmiddlewaretoken"]
    running_parts = []
    for index in range(options.processes):
        name = f"attack-{index + 1}"
        shutil.copytree(folder / "session", folder / name)
        (copy,) = (folder / name).glob("*.db")
        keep_share(copy, index, options.processes)
        attack = ["--skip-crawl", "-m", options.modules, "--max-attack-time", str(options.max_attack_time)]
        attack += ["--store-session", str(folder / name), "--store-config", str(folder / "config")]
        attack += ["-o", str(folder / f"{name}.json"), "--log", str(folder / f"{name}.log")]
        running_parts.append((name, _wapiti(common + attack, folder, name, cookies)))
    report, seen, attacked = {}, set(), defaultdict(set)
    for name, process in running_parts:
        _wait(process)
        part = json.loads((folder / f"{name}.json").read_text())
        report.setdefault("infos", part["infos"])
        for kind in ("vulnerabilities", "anomalies", "additionals"):
            for category, items in part.get(kind, {}).items():
                for item in items:  # pages every share holds are reported once
                    key = (kind, category, item["method"], item["path"], item["parameter"], item["info"])
                    if key not in seen:
                        seen.add(key)
                        report.setdefault(kind, {}).setdefault(category, []).append(item)
        for module, requests_ in attacked_per_module(folder / f"{name}.out").items():
            attacked[module] |= requests_
    coverage = {module: len(requests_) for module, requests_ in attacked.items()}
    (folder / "report.json").write_text(json.dumps(report, indent=2))
    # The session must have lasted the whole scan: else the report is that of a signed-out visitor.
    still = client.get(f"{running.base}/", allow_redirects=False, timeout=10)
    assert still.status_code == 200, f"{role.code} was signed out during the scan ({still.status_code})"
    return report, found, coverage


def keep_share(session: Path, index: int, count: int) -> None:
    """In one attack process's copy of the session, every `count`-th URL or form with parameters
    (a query string's are in wapiti's params table, as a form's) from the `index`-th on (wapiti
    attacks in the order of their addresses: each process starts in another part of the site),
    and every page without: there is nothing to inject in those, and permanentxss must see them
    all to find what the process stored."""
    with sqlite3.connect(session) as db:
        with_parameters = db.execute(
            "SELECT path_id FROM paths WHERE evil = 0 AND headers IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM params WHERE params.path_id = paths.path_id) ORDER BY path"
        ).fetchall()
        dropped = [row for rank, row in enumerate(with_parameters) if rank % count != index]
        db.executemany("DELETE FROM params WHERE path_id = ?", dropped)
        db.executemany("DELETE FROM paths WHERE path_id = ?", dropped)


def attacked_per_module(out: Path) -> dict[str, set[str]]:
    """The URLs and forms each module attacked, from wapiti's output ("[+] <request>" lines after
    "Launching module <name>")."""
    attacked, module = {}, None
    for line in out.read_text(errors="replace").splitlines():
        launched = re.search(r"Launching module (\w+)", line)
        if launched:
            module = launched.group(1)
            attacked[module] = set()
        elif module and line.startswith("[+] "):
            attacked[module].add(line)
    return attacked


def _wapiti(argv: list[str], folder: Path, name: str, cookies: str) -> subprocess.Popen:
    (folder / f"{name}.command.txt").write_text(" ".join(argv).replace(cookies, "<session cookies>") + "\n")
    with open(folder / f"{name}.out", "wb") as out:
        return subprocess.Popen(argv, cwd=folder, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)


def _wait(process: subprocess.Popen) -> None:
    try:
        status = process.wait(timeout=3600)
    finally:
        if process.poll() is None:
            process.kill()
    assert status == 0, f"wapiti exited with {status}: {process.args[-1]}"


def keep_one_per_pattern(session: Path) -> tuple[int, int, int]:
    """The crawl finds the same screen many times (each contact's page, each month of the
    calendar, each sort order or filter of a list): in wapiti's session file, keep one URL or
    form per method and path (numbers as N; the three record kinds as one, the same views serve
    them: crm/urls.py), the one with the most parameter names (the first of those), so that the
    attack modules' time goes to every kind of screen instead of to the first few hundred
    look-alikes. Returns the number of URLs and forms crawled, of those kept, of those kept with
    parameters (a query string's are in wapiti's params table, as a form's)."""
    with sqlite3.connect(session) as db:
        names = defaultdict(set)
        for path_id, kind, name in db.execute("SELECT path_id, type, name FROM params"):
            names[path_id].add(f"{kind}:{name}")
        best, total = {}, 0
        query = "SELECT path_id, path, method FROM paths WHERE evil = 0 AND headers IS NOT NULL ORDER BY path_id"
        rows = db.execute(query).fetchall()
        for path_id, url, method in rows:
            total += 1
            key = (method, RECORD_KINDS.sub("/crm/<kind>/", re.sub(r"/\d+(?=/)", "/N", url.split("?")[0])))
            if key not in best or len(names[path_id]) > len(names[best[key]]):
                best[key] = path_id
        kept = set(best.values())
        dropped = [(path_id,) for path_id, _url, _method in rows if path_id not in kept]
        db.executemany("DELETE FROM params WHERE path_id = ?", dropped)
        db.executemany("DELETE FROM paths WHERE path_id = ?", dropped)
    return total, len(kept), len(kept & set(names))


def flatten(report: dict) -> list[dict]:
    findings = []
    for kind in ("vulnerabilities", "anomalies", "additionals"):
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
        if not re.search(entry.get("info", ""), finding["info"]):
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
