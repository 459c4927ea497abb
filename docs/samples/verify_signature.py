#!/usr/bin/env python3
"""Verifying a tinyforge notification in Python (standard library only).

Header: X-Tinyforge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
Usage as a script: verify_signature.py SECRET SIGNATURE_HEADER BODY_FILE  (exit 0 = valid)
"""
import hashlib
import hmac
import sys
import time


def verify(secret: str, header: str, body: bytes, tolerance: int = 300, now: float = None) -> bool:
    parts = dict(p.strip().split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for k, v in
               (p.strip().split("=", 1) for p in header.split(",") if "=" in p) if k == "v1")


if __name__ == "__main__":
    secret, header, path = sys.argv[1:4]
    with open(path, "rb") as f:
        sys.exit(0 if verify(secret, header, f.read()) else 1)
