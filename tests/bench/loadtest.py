"""`make loadtest`: gunicorn with 4 workers on PostgreSQL (loopback), 60 teachers at once, each
taking the roll call of their group and releasing its children at dismissal.

Uses a scratch database (`afterschool_loadtest` on 127.0.0.1:5432 unless LOADTEST_DATABASE_URL
names another; it is dropped and made again). Bounded by LOADTEST_SECONDS (default 180) and by the
work itself: 60 × (log-in + 4 pages + 45 releases), each form followed to the page it leads to as
a browser does; a release answers with the child's row (htmx), as on the phone. Adds p50 / p95 /
p99 and the errors to bench-results.json.
"""

import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench-results.json"
PORT = int(os.environ.get("LOADTEST_PORT", "8123"))
TEACHERS = 60
DEADLINE = float(os.environ.get("LOADTEST_SECONDS", "180"))
# A teacher's taps are seconds apart (read the code off a parent's phone, look up, tap): each
# simulated teacher waits THINK seconds on average (uniform, ±50 %) between requests. 0 = flat out.
THINK = float(os.environ.get("LOADTEST_THINK", "2"))


def _database():
    url = os.environ.get("LOADTEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/afterschool_loadtest")
    name = url.rsplit("/", 1)[1]
    host = url.split("@")[1].split(":")[0]
    subprocess.run(["dropdb", "--if-exists", "-h", host, "-U", "postgres", name], check=True)
    subprocess.run(["createdb", "-h", host, "-U", "postgres", name], check=True)
    return url


def _build(env):
    """The school, in a child process (Django set up there, not here)."""
    code = (
        "import django; django.setup();"
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from tests.bench.school import build_school;"
        "from enrollment.models import User;"
        f"s = build_school(name='压测小学', students={TEACHERS * 45}, groups={TEACHERS}, extra_rows=10);"
        "import json;"
        "rows = [(g.teacher.username, g.sessions.order_by('date').first().pk) for g in s.groups];"
        "print('TEACHERS=' + json.dumps(rows))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(re.search(r"TEACHERS=(.*)", out.stdout).group(1))


class Browser:
    """One teacher's phone: a connection with its cookies."""

    def __init__(self):
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        self.cookies, self.location = {}, None

    def request(self, method, path, fields=None, htmx=False):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if htmx:  # the dismissal page's forms post through htmx and get the child's row back
            headers["HX-Request"] = "true"
        body = None
        if fields is not None:
            fields = {**fields, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            body = urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        self.location = response.getheader("Location") if response.status in (301, 302, 303) else None
        return response.status, content


def teacher(username, session_id, timings, errors, stop, kinds):
    import random

    browser = Browser()
    rng = random.Random(username)

    def hit(method, path, fields=None, expect=(200,), htmx=False):
        if stop.is_set():
            raise TimeoutError
        if THINK:
            time.sleep(rng.uniform(THINK * 0.5, THINK * 1.5))
        started = time.perf_counter()
        try:
            status, content = browser.request(method, path, fields, htmx)
        except Exception as error:  # noqa: BLE001 - a failed request is a result here
            errors.append(f"{path}: {type(error).__name__}")
            browser.connection.close()
            return b""
        timings.append(time.perf_counter() - started)
        kinds.setdefault(f"{method} {re.sub(r'[0-9]+', 'N', path)}", []).append(timings[-1])
        if status not in expect:
            errors.append(f"{method} {path}: {status}")
        for _hop in range(3):
            if not (browser.location and browser.location.startswith("/")):
                break
            # The phone's browser opens the page it is sent to at once (no pause), which shows
            # the "saved" message (and so empties the message cookie).
            location, started = browser.location, time.perf_counter()
            status, content = browser.request("GET", location)
            timings.append(time.perf_counter() - started)
            kinds.setdefault(f"GET {re.sub(r'[0-9]+', 'N', location)} (redirected)", []).append(timings[-1])
            if status not in (200, 302):
                errors.append(f"GET {location}: {status}")
        return content

    try:
        hit("GET", "/login/")
        hit("POST", "/login/", {"username": username, "password": "bench2026"}, expect=(302,))
        hit("GET", "/teacher/today/")
        page = hit("GET", f"/teacher/sessions/{session_id}/roll-call/").decode()
        students = re.findall(r'name="s(\d+)"', page)
        version = re.search(r'name="version" value="(\d+)"', page)
        fields = {f"s{pk}": "present" for pk in set(students)}
        fields |= {"version": version.group(1) if version else "0", "reason": "压测：补录"}
        hit("POST", f"/teacher/sessions/{session_id}/roll-call/", fields, expect=(302,))
        hit("GET", f"/teacher/sessions/{session_id}/dismissal/")
        for pk in sorted(set(students)):
            fields = {"student": pk, "action": "gate"}
            hit("POST", f"/teacher/sessions/{session_id}/dismissal/", fields, htmx=True)
    except TimeoutError:
        pass


def _warm_up(username, session_id):
    """Each gunicorn worker loads its templates and translations on its first pages: 16 teachers'
    phones (so every one of the 4 workers) open the pages once, read-only, before the clock starts."""

    def visit():
        browser = Browser()
        browser.request("GET", "/login/")
        browser.request("POST", "/login/", {"username": username, "password": "bench2026"})
        for path in ("/teacher/today/", f"/teacher/sessions/{session_id}/roll-call/",
                     f"/teacher/sessions/{session_id}/dismissal/"):  # fmt: skip
            browser.request("GET", path)

    phones = [threading.Thread(target=visit) for _ in range(16)]
    for phone in phones:
        phone.start()
    for phone in phones:
        phone.join()


def main():
    database = _database()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.bench.settings",
        "DATABASE_URL": database,
        "LOG_LEVEL": "WARNING",
    }
    rows = _build(env)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "afterschool.wsgi", "-w", "4", "-b", f"127.0.0.1:{PORT}",
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/login/")
                break
            except OSError:
                time.sleep(0.2)
        _warm_up(*rows[0])
        timings, errors, stop, kinds = [], [], threading.Event(), {}
        threads = [threading.Thread(target=teacher, args=(u, s, timings, errors, stop, kinds)) for u, s in rows]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        timer = threading.Timer(DEADLINE, stop.set)
        timer.start()
        for thread in threads:
            thread.join()
        timer.cancel()
        elapsed = time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    cuts = statistics.quantiles(timings, n=100)
    results = [
        ("load test: teachers at once", TEACHERS, ""),
        ("load test: mean pause between a teacher's requests", THINK, "s"),
        ("load test: requests", len(timings), ""),
        ("load test: duration", elapsed, "s"),
        ("load test: requests per second", len(timings) / elapsed, "req/s"),
        ("load test: p50", cuts[49] * 1000, "ms"),
        ("load test: p95", cuts[94] * 1000, "ms"),
        ("load test: p99", cuts[98] * 1000, "ms"),
        ("load test: errors", len(errors), ""),
        ("load test: stopped by the time limit", stop.is_set(), ""),
    ]
    rows_out = [{"name": n, "value": round(v, 3) if isinstance(v, float) else v, "unit": u} for n, v, u in results]
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    existing = [row for row in existing if not row["name"].startswith("load test:")]
    RESULTS.write_text(json.dumps(existing + rows_out, ensure_ascii=False, indent=1))
    for row in rows_out:
        print(f"{row['name']:<40} {row['value']!s:>10} {row['unit']}")
    print("by request (count, p50, p95, max in ms):")
    for kind, times in sorted(kinds.items()):
        times = sorted(times)
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        p50, top = times[len(times) // 2], times[-1]
        print(f"  {kind:<45} {len(times):>5} {p50 * 1000:>8.1f} {p95 * 1000:>8.1f} {top * 1000:>8.1f}")
    for error in errors[:10]:
        print("error:", error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
