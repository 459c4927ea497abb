#!/usr/bin/env python3
"""bench/reconcile: a reconcile pass over N deployed workloads with no drift.

Starts a release `tinyforge serve`, creates and deploys N image workloads (one tiny local
container each), then runs POST /api/reconcile several times and reports the pass time the
server measured (one engine list call per pass; routes and containers compared per workload).

    cargo build --release -p tinyforge && python3 bench/reconcile.py [N]
"""
import json, os, socket, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "tinyforge")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploy_latency import api, build_image, free_port, rss_kb  # noqa: E402


def main():
    build_image("tf-bench/app:v1", "v1")
    data = tempfile.mkdtemp(); api_port = free_port()
    proc = subprocess.Popen([BIN, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{api_port}",
                             "--http", f"127.0.0.1:{free_port()}", "--https", f"127.0.0.1:{free_port()}",
                             "--max-parallel-deploys", "4", "--reconcile-interval", "86400"],
                            stdout=subprocess.DEVNULL, env={**os.environ, "TINYFORGE_LOG": "warn"})
    try:
        while not os.path.exists(f"{data}/admin.token"): time.sleep(0.05)
        time.sleep(0.3)
        token = open(f"{data}/admin.token").read().strip()
        t0 = time.time()
        for i in range(N):
            cfg = {"image": "tf-bench/app", "tag": "v1", "faces": [{"host": f"r{i}.test", "port": 8080}],
                   "health": {"path": "/health"}, "drain_timeout_secs": 1, "resources": {"memory_mb": 16}}
            w = api(api_port, token, "POST", "/api/workloads", {"name": f"r{i}", "source_kind": "image", "source_config": cfg})
            api(api_port, token, "POST", f"/api/workloads/{w['id']}/deploy")
        while True:
            ws = api(api_port, token, "GET", "/api/workloads")
            if all(w["status"] == "serving" for w in ws): break
            if any(w["status"] == "failed" for w in ws): raise SystemExit("a deploy failed")
            time.sleep(2)
        print(f"{N} workloads deployed in {time.time() - t0:.0f} s")
        passes = [api(api_port, token, "POST", "/api/reconcile") for _ in range(5)]
        ms = sorted(p["ms"] for p in passes)
        assert all(p["repaired"] == 0 and p["failed"] == 0 for p in passes), passes
        print(f"reconcile pass over {N} workloads, no drift: p50 {statistics.median(ms)} ms, "
              f"min {ms[0]} ms, max {ms[-1]} ms (5 passes)")
        print(f"RSS of tinyforge serve with {N} running workloads: {rss_kb(proc.pid)/1024:.1f} MiB")
        t0 = time.time()
        for w in api(api_port, token, "GET", "/api/workloads"):
            api(api_port, token, "DELETE", f"/api/workloads/{w['id']}")
        print(f"teardown of {N} workloads: {time.time() - t0:.0f} s")
    finally:
        proc.terminate(); proc.wait(timeout=60)


if __name__ == "__main__":
    main()
