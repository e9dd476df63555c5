#!/usr/bin/env python3
"""mint-token.py CLIENT_ID SECRET_FILE - print a fresh HS256 token for
ferry's HTTP intake (what a front-end does before each POST).  Standard
library only; see docs/serve.md, "Authentication"."""
import base64, hashlib, hmac, json, sys, time


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def ferry_token(client_id, secret):
    h = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    p = b64(json.dumps({"iss": client_id, "iat": int(time.time())}).encode())
    s = b64(hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest())
    return f"{h}.{p}.{s}"


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: mint-token.py CLIENT_ID SECRET_FILE")
    with open(sys.argv[2], "rb") as f:
        secret = f.read().rstrip(b"\r\n")
    print(ferry_token(sys.argv[1], secret))
