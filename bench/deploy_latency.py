#!/usr/bin/env python3
"""bench/deploy-latency: API call -> first 200 from the new version through the edge.

Starts a release `tinyforge serve` on loopback ports with a fresh data dir, builds two local
FROM-scratch images (v1/v2, cached after the first run), then deploys them alternately N times
(default 30) and measures, for each deploy, the time from POST /api/workloads/{id}/deploy to the
first 200 answered by the new version through the edge. Then creates and deploys workloads up to
100 and reports the idle RSS of the tinyforge process.

    cargo build --release -p tinyforge && python3 bench/deploy_latency.py [N]
"""
import json, os, socket, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "tinyforge")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 30


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def build_image(tag, version):
    d = tempfile.mkdtemp()
    os.makedirs(f"{d}/www")
    open(f"{d}/www/index.html", "w").write(version + "\n")
    open(f"{d}/www/health", "w").write("ok\n")
    subprocess.run(["cp", "/bin/busybox", f"{d}/busybox"], check=True)
    open(f"{d}/Dockerfile", "w").write(
        'FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\n'
        'CMD ["/bin/busybox", "sh", "-c", "trap \'kill $p; exit 0\' TERM; /bin/busybox httpd -f -p 8080 -h /www & p=$!; wait"]\n')
    subprocess.run(["docker", "build", "-q", "-t", tag, d], check=True, stdout=subprocess.DEVNULL)


def api(port, token, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.loads(r.read() or b"null")


def edge_get(port, host):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        c = s.recv(4096)
        if not c: break
        data += c
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]) if head else 0, body.decode().strip()


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


def main():
    build_image("tf-bench/app:v1", "v1"); build_image("tf-bench/app:v2", "v2")
    data = tempfile.mkdtemp(); api_port, edge_port = free_port(), free_port()
    proc = subprocess.Popen([BIN, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{api_port}",
                             "--http", f"127.0.0.1:{edge_port}"], stdout=subprocess.DEVNULL,
                            env={**os.environ, "TINYFORGE_LOG": "warn"})
    try:
        while not os.path.exists(f"{data}/admin.token"): time.sleep(0.05)
        time.sleep(0.3)
        token = open(f"{data}/admin.token").read().strip()
        cfg = lambda host: {"image": "tf-bench/app", "tag": "v1", "faces": [{"host": host, "port": 8080}],
                            "health": {"path": "/health"}, "drain_timeout_secs": 5}
        w = api(api_port, token, "POST", "/api/workloads", {"name": "bench", "source_kind": "image", "source_config": cfg("bench.test")})
        api(api_port, token, "POST", f"/api/workloads/{w['id']}/deploy?wait=true", {"reference": "v1"})
        lat = []
        for i in range(N):
            v = "v2" if i % 2 == 0 else "v1"
            t0 = time.perf_counter()
            api(api_port, token, "POST", f"/api/workloads/{w['id']}/deploy", {"reference": v})
            while edge_get(edge_port, "bench.test") != (200, v): time.sleep(0.002)
            lat.append(time.perf_counter() - t0)
            time.sleep(0.5)  # let blue's removal finish before the next deploy
        lat.sort()
        p50, p95 = statistics.median(lat), lat[int(round(0.95 * (len(lat) - 1)))]
        print(f"deploy latency over {N} deploys (API call -> first 200 from the new version via the edge):")
        print(f"  p50 {p50*1000:.0f} ms   p95 {p95*1000:.0f} ms   min {lat[0]*1000:.0f} ms   max {lat[-1]*1000:.0f} ms")
        for i in range(99):
            x = api(api_port, token, "POST", "/api/workloads", {"name": f"idle-{i}", "source_kind": "image", "source_config": cfg(f"idle-{i}.test")})
            api(api_port, token, "POST", f"/api/workloads/{x['id']}/deploy", {"reference": "v1"})
        while any(x["status"] != "serving" for x in api(api_port, token, "GET", "/api/workloads")): time.sleep(1)
        time.sleep(5)
        print(f"idle RSS of tinyforge serve with 100 deployed workloads: {rss_kb(proc.pid)/1024:.1f} MiB")
        for x in api(api_port, token, "GET", "/api/workloads"):
            api(api_port, token, "DELETE", f"/api/workloads/{x['id']}")
    finally:
        proc.terminate(); proc.wait(timeout=30)


if __name__ == "__main__":
    main()
