#!/usr/bin/env python3
"""bench/webhook: signed webhook deliveries through a release `tinyforge serve`.

(a) throughput and ack latency of signed GitHub push deliveries that match no binding (wrk,
    64 connections, keep-alive, fixed duration); (b) one delivery fanned out to 1,000 bindings:
    the ack time, which covers verifying, matching all 1,000 and queueing 1,000 deploys.

    cargo build --release -p tinyforge && python3 bench/webhook.py [seconds]
"""
import hashlib, hmac, json, os, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "tinyforge")
SECS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
SECRET = "bench-signing-secret-0123456789"
FIXTURE = os.path.join(ROOT, "..", "shared", "fixtures", "webhooks", "github", "push-branch-one-commit.json")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploy_latency import api, free_port  # noqa: E402


def deliver(port, url, body, sig):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{url}", method="POST", data=body, headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push", "X-Hub-Signature-256": sig})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=300) as r:
        out = json.loads(r.read())
    return time.perf_counter() - t0, out


def main():
    body = open(FIXTURE, "rb").read()
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    data = tempfile.mkdtemp(); api_port = free_port()
    proc = subprocess.Popen([BIN, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{api_port}",
                             "--http", f"127.0.0.1:{free_port()}", "--max-parallel-deploys", "1"],
                            stdout=subprocess.DEVNULL, env={**os.environ, "TINYFORGE_LOG": "error"})
    try:
        while not os.path.exists(f"{data}/admin.token"): time.sleep(0.05)
        time.sleep(0.3)
        token = open(f"{data}/admin.token").read().strip()
        cfg = {"image": "127.0.0.1:1/none/app", "faces": [{"host": "x.test", "port": 80}]}
        # (a) a git trigger whose only binding wants another branch.
        t = api(api_port, token, "POST", "/api/triggers", {"name": "a", "kind": "git", "signing_secret": SECRET,
                                                           "config": {"repository": "woodpecker-ci/woodpecker", "branches": ["release"]}})
        w = api(api_port, token, "POST", "/api/workloads", {"name": "a", "source_kind": "image", "source_config": cfg})
        api(api_port, token, "POST", "/api/bindings", {"workload_id": w["id"], "trigger_id": t["id"]})
        took, out = deliver(api_port, t["webhook_url"], body, sig)
        assert out["skipped"] == {"branch": 1}, out
        lua = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        lua.write('wrk.method = "POST"\nwrk.body = io.open(%r, "rb"):read("*a")\n'
                  'wrk.headers["Content-Type"] = "application/json"\nwrk.headers["X-GitHub-Event"] = "push"\n'
                  'wrk.headers["X-Hub-Signature-256"] = %r\n' % (FIXTURE, sig))
        lua.close()
        out = subprocess.run(["wrk", "-t2", "-c64", f"-d{SECS}s", "--latency", "-s", lua.name,
                              f"http://127.0.0.1:{api_port}{t['webhook_url']}"], capture_output=True, text=True).stdout
        rps = [l for l in out.splitlines() if l.startswith("Requests/sec")][0].split()[1]
        p50 = [l for l in out.splitlines() if l.strip().startswith("50%")][0].split()[1]
        p99 = [l for l in out.splitlines() if l.strip().startswith("99%")][0].split()[1]
        errors = [l.strip() for l in out.splitlines() if "Non-2xx" in l or "Socket errors" in l]
        print(f"(a) signed deliveries matching no binding: {rps} req/s, ack p50 {p50}, p99 {p99} "
              f"(wrk -t2 -c64 -d{SECS}s) {' '.join(errors)}")
        # (b) one delivery, 1,000 bindings that all match.
        t2 = api(api_port, token, "POST", "/api/triggers", {"name": "b", "kind": "git", "signing_secret": SECRET,
                                                            "config": {"repository": "woodpecker-ci/woodpecker", "branches": ["main"]}})
        for i in range(1000):
            x = api(api_port, token, "POST", "/api/workloads", {"name": f"b{i}", "source_kind": "image", "source_config": cfg})
            api(api_port, token, "POST", "/api/bindings", {"workload_id": x["id"], "trigger_id": t2["id"]})
        times = []
        for _ in range(10):
            took, out = deliver(api_port, t2["webhook_url"], body, sig)
            assert out["queued"] == 1000, out
            times.append(took)
        times.sort()
        print(f"(b) one delivery fanned out to 1,000 bindings, all matched and queued: "
              f"ack p50 {statistics.median(times)*1000:.0f} ms, max {times[-1]*1000:.0f} ms over {len(times)} deliveries")
    finally:
        proc.terminate(); proc.wait(timeout=30)


if __name__ == "__main__":
    main()
