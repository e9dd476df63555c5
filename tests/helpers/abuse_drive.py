#!/usr/bin/env python3
"""abuse_drive.py - the HTTP intake under abuse, measured from outside.

  abuse_drive.py PORT SECRET_FILE CLIENT TEMPLATE [options]

While it runs:
- IDLE sockets are opened from loopback addresses 127.0.0.2.. (IDLE_ADDRS of
  them, round robin), send nothing, and are reopened as soon as the server
  closes them (the attacker keeps the pressure on);
- FLOOD threads post bad tokens (wrong key, naming the real CLIENT as
  issuer), from the healthy client's own address 127.0.0.1 (a shared NAT)
  and, with FLOOD_ADDRS > 1, round robin from 127.0.0.1 and 127.0.0.101..
  (FLOOD_ADDRS addresses in all: a flood from many sources);
- one healthy client posts valid submissions with good tokens from
  127.0.0.1, a new connection each, for SECONDS.
The idle sockets and the flood run in child processes of their own.
Prints JSON: the healthy client's successes, failures, p50/p99 latency (ms),
the flood's status counts, how many idle sockets were held at the end and
how many the server closed.
Standard library only."""
import argparse, base64, hashlib, hmac, http.client, json, os, select, socket
import sys, threading, time


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(client, secret):
    h = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    p = b64(json.dumps({"iss": client, "iat": int(time.time())}).encode())
    s = b64(hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest())
    return f"{h}.{p}.{s}"


def post(port, tok, body, src, timeout):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                   source_address=(src, 0))
    try:
        c.request("POST", "/v1/services/refund-claim/submissions",
                  body.encode("utf-8"),
                  {"Authorization": "Bearer " + tok,
                   "Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("secret")
    ap.add_argument("client")
    ap.add_argument("template")
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--idle-addrs", type=int, default=20)
    ap.add_argument("--flood", type=int, default=4)
    ap.add_argument("--flood-addrs", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--timeout", type=float, default=5)
    ap.add_argument("--role", default="healthy",
                    choices=["healthy", "idle", "flood"])
    a = ap.parse_args()
    secret = open(a.secret, "rb").read().rstrip(b"\r\n")
    tpl = open(a.template).read()
    stop = threading.Event()
    flood_codes = {}
    lock = threading.Lock()

    # ---- idle sockets, reopened as the server closes them --------------
    idle = []                                    # (sock, opened_at)
    lifetimes = []

    def open_idle(i):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.bind((f"127.0.0.{2 + i % a.idle_addrs}", 0))
            s.connect_ex(("127.0.0.1", a.port))
        except OSError:
            s.close()
            return None
        return (s, time.time())

    def idler():
        n = 0
        pl = select.poll()
        byfd = {}
        while not stop.is_set():
            while len(byfd) < a.idle and not stop.is_set():
                e = open_idle(n)
                n += 1
                if not e:
                    break
                byfd[e[0].fileno()] = e
                pl.register(e[0], select.POLLIN | select.POLLHUP | select.POLLERR)
            now = time.time()
            for fd, _ in (pl.poll(50) if byfd else []):
                s, t0 = byfd.pop(fd)
                pl.unregister(fd)
                lifetimes.append(now - t0)
                s.close()
            idle[:] = [0] * len(byfd)
            if not byfd:
                time.sleep(0.05)

    def flooder(k):
        bad = b"x" * 32
        n = k
        while not stop.is_set():
            i = n % max(1, a.flood_addrs)
            n += a.flood
            src = "127.0.0.1" if i == 0 else f"127.0.0.{100 + i}"
            try:
                code = post(a.port, token(a.client, bad), "{}", src,
                            a.timeout)
            except Exception as ex:
                code = type(ex).__name__
            with lock:
                flood_codes[str(code)] = flood_codes.get(str(code), 0) + 1

    if a.role == "idle":
        threading.Thread(target=idler, daemon=True).start()
        time.sleep(a.seconds + a.warmup)
        stop.set()
        print(json.dumps({"idle_held_at_end": len(idle),
                          "idle_closed": len(lifetimes)}))
        return
    if a.role == "flood":
        for k in range(a.flood):
            threading.Thread(target=flooder, args=(k,), daemon=True).start()
        time.sleep(a.seconds + a.warmup)
        stop.set()
        with lock:
            print(json.dumps({"flood_codes": dict(flood_codes)}))
        return
    # the healthy client: attackers in their own processes, so they never
    # take this one's interpreter lock
    import subprocess
    kids = []
    base = [sys.executable, sys.argv[0], str(a.port), a.secret, a.client,
            a.template, "--seconds", str(a.seconds), "--warmup", str(a.warmup),
            "--idle", str(a.idle), "--idle-addrs", str(a.idle_addrs),
            "--flood", str(a.flood), "--flood-addrs", str(a.flood_addrs),
            "--timeout", str(a.timeout)]
    if a.idle:
        kids.append(subprocess.Popen(base + ["--role", "idle"],
                                     stdout=subprocess.PIPE))
    if a.flood:
        kids.append(subprocess.Popen(base + ["--role", "flood"],
                                     stdout=subprocess.PIPE))
    time.sleep(a.warmup)

    ok = bad = 0
    lat = []
    codes = {}
    t_end = time.time() + a.seconds
    i = 0
    while time.time() < t_end:
        i += 1
        body = tpl.replace("@REF@", "AB%08d" % (os.getpid() % 1000 * 100000 + i))
        t0 = time.time()
        try:
            code = post(a.port, token(a.client, secret), body, "127.0.0.1",
                        a.timeout)
        except Exception as ex:
            code = type(ex).__name__
        ms = (time.time() - t0) * 1000
        codes[str(code)] = codes.get(str(code), 0) + 1
        if code in (200, 202):
            ok += 1
            lat.append(ms)
        else:
            bad += 1
    got = {"idle_held_at_end": 0, "idle_closed": 0, "flood_codes": {}}
    for k in kids:
        out, _ = k.communicate()
        got.update(json.loads(out.decode() or "{}"))
    lat.sort()
    q = lambda p: round(lat[min(len(lat) - 1, int(len(lat) * p))], 1) if lat else None
    print(json.dumps({
        "healthy_ok": ok, "healthy_failed": bad, "healthy_codes": codes,
        "success_pct": round(100.0 * ok / max(1, ok + bad), 2),
        "p50_ms": q(0.50), "p99_ms": q(0.99),
        "flood_codes": got["flood_codes"],
        "idle_held_at_end": got["idle_held_at_end"],
        "idle_closed": got["idle_closed"],
    }))


if __name__ == "__main__":
    main()
