#!/usr/bin/env python3
# The load client of the bench's soak (scripts/bench/soak.sh): many concurrent SMB clients doing
# mixed create/write/read/rename/delete against one server, each of them a real smbclient session
# (Samba's own client, one process and one SMB session per client) driven through a pseudo
# terminal, so no SMB code of ours sits between the server and the figures.
#
# It counts what the soak must show: every failed operation by its NT_STATUS, every acknowledged
# write that does not read back with its checksum (lost writes, checked right after the write and
# again for every surviving file at the end), and the latency of each operation (prompt to prompt).
#
# Usage: soak-client.py --seconds S --workdir DIR --conf SMB_CONF --user U --password-file F
#            --group NAME:PORT:SHARE:CLIENTS:MODE [--group ...]
#   MODE mixed: put a small file under a temporary name, rename it, get it back and compare,
#               allinfo, delete the oldest of the client's files beyond a few
#   MODE fill:  put 256 KiB files and keep them (fills a share's quota), get each back and compare
# Output: one line per group, "GROUP NAME key=value ...", on stdout (details on stderr).

import argparse
import hashlib
import os
import pty
import random
import re
import selectors
import subprocess
import sys
import termios
import time

PROMPT = b"smb: \\> "
STATUS = re.compile(rb"NT_STATUS_[A-Z0-9_]+")
CONNECT_TIMEOUT = 60
OP_TIMEOUT = 60
KEEP = 4  # files a mixed client keeps before it deletes its oldest


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def pct(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class Group:
    def __init__(self, spec):
        self.name, port, self.share, clients, self.mode = spec.split(":")
        self.port, self.clients = int(port), int(clients)
        if self.mode not in ("mixed", "fill"):
            sys.exit(f"--group {spec}: mode must be mixed or fill")
        self.connected = 0
        self.ops = {}
        self.lat = {}
        self.errors = {}
        self.acked = 0
        self.lost = 0
        self.verified = 0

    def error(self, kind, out):
        m = STATUS.search(out)
        status = m.group(0).decode() if m else "NO_STATUS:" + kind
        self.errors[status] = self.errors.get(status, 0) + 1
        return status


class Client:
    """One smbclient session and the generator that decides its next command."""

    def __init__(self, group, idx, args, pools):
        self.group, self.idx, self.args = group, idx, args
        self.pool = pools[group.mode]
        self.back = os.path.join(args.workdir, f"back-{group.name}-{idx}")
        self.prefix = f"{group.name}-c{idx:03d}"
        master, slave = pty.openpty()
        attr = termios.tcgetattr(slave)
        attr[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attr)
        self.proc = subprocess.Popen(
            ["smbclient", "-s", args.conf, f"//127.0.0.1/{group.share}", "-p", str(group.port),
             "-U", f"{args.user}%{args.password}"],
            stdin=slave, stdout=slave, stderr=slave, close_fds=True, start_new_session=True)
        os.close(slave)
        self.fd = master
        self.buf = b""
        self.kind = "connect"
        self.t0 = time.monotonic()
        self.gen = None
        self.done = False
        self.timed = True  # operations before the deadline count in the latencies

    def send(self, cmd):
        self.kind, text = cmd
        self.buf = b""
        self.t0 = time.monotonic()
        os.write(self.fd, text.encode() + b"\n")

    def script(self, deadline):
        g = self.group
        alive = []  # (remote name, sha256) of acknowledged files, oldest first
        seq = 0
        while time.monotonic() < deadline:
            src, digest = random.choice(self.pool)
            seq += 1
            final = f"{self.prefix}-{seq}.dat"
            if g.mode == "mixed":
                tmp = f"{self.prefix}-{seq}.tmp"
                out = yield ("put", f"put {src} {tmp}")
                if STATUS.search(out) or b"putting file" not in out:
                    g.error("put", out)
                    continue
                g.acked += 1
                out = yield ("rename", f"rename {tmp} {final}")
                if STATUS.search(out):
                    g.error("rename", out)
                    alive.append((tmp, digest))
                    continue
            else:
                out = yield ("put", f"put {src} {final}")
                if STATUS.search(out) or b"putting file" not in out:
                    g.error("put", out)
                    continue
                g.acked += 1
            alive.append((final, digest))
            out = yield ("get", f"get {final} {self.back}")
            if STATUS.search(out) or b"getting file" not in out:
                g.error("get", out)
            elif sha(self.back) != digest:
                g.lost += 1
                print(f"{g.name} client {self.idx}: {final} read back with another checksum", file=sys.stderr)
            out = yield ("allinfo", f"allinfo {final}")
            if STATUS.search(out):
                g.error("allinfo", out)
            if g.mode == "mixed" and len(alive) > KEEP:
                name, _ = alive[0]
                out = yield ("del", f"del {name}")
                if STATUS.search(out):
                    g.error("del", out)
                else:
                    alive.pop(0)
        # every file this client was told was written must read back with its checksum
        self.timed = False
        for name, digest in alive:
            out = yield ("verify", f"get {name} {self.back}")
            g.verified += 1
            if STATUS.search(out) or b"getting file" not in out or sha(self.back) != digest:
                g.lost += 1
                print(f"{g.name} client {self.idx}: acknowledged {name} did not read back: "
                      f"{out.decode(errors='replace').strip()[:200]}", file=sys.stderr)
        yield ("quit", "quit")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--conf", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--group", action="append", required=True)
    args = ap.parse_args()
    with open(args.password_file) as f:
        args.password = f.read().strip()
    groups = [Group(spec) for spec in args.group]

    # source files: random bytes of known checksums (4-64 KiB for mixed, 256 KiB for fill)
    os.makedirs(args.workdir, exist_ok=True)
    pools = {"mixed": [], "fill": []}
    for mode, sizes in (("mixed", [4096, 8192, 16384, 32768, 65536]), ("fill", [262144] * 2)):
        for i, size in enumerate(sizes):
            path = os.path.join(args.workdir, f"src-{mode}-{i}")
            with open(path, "wb") as f:
                f.write(os.urandom(size))
            pools[mode].append((path, sha(path)))

    sel = selectors.DefaultSelector()
    clients = []
    for g in groups:
        for i in range(g.clients):
            c = Client(g, i, args, pools)
            clients.append(c)
            sel.register(c.fd, selectors.EVENT_READ, c)

    def finish(c, status):
        sel.unregister(c.fd)
        os.close(c.fd)
        c.done = True
        if c.proc.poll() is None:
            c.proc.kill()
        c.proc.wait()
        if status:
            c.group.errors[status] = c.group.errors.get(status, 0) + 1

    def pump(timeout_s, on_prompt):
        """Read output; call on_prompt(client, output) when a client shows its prompt again."""
        for key, _ in sel.select(timeout=timeout_s):
            c = key.data
            try:
                data = os.read(c.fd, 65536)
            except OSError:
                data = b""
            if not data:
                finish(c, None if c.kind == "quit" else f"CLIENT_EXITED:{c.kind}")
                continue
            c.buf += data
            if c.buf.endswith(PROMPT):
                on_prompt(c, c.buf)
        now = time.monotonic()
        for c in clients:
            limit = CONNECT_TIMEOUT if c.kind == "connect" else OP_TIMEOUT
            if not c.done and now - c.t0 > limit:
                finish(c, f"TIMEOUT:{c.kind}")

    # all sessions are set up before the clock starts
    def connected(c, out):
        c.group.connected += 1
        c.kind = "ready"
        c.buf = b""

    t_connect = time.monotonic()
    while any(not c.done and c.kind == "connect" for c in clients):
        pump(1.0, connected)
    for c in clients:
        if not c.done and c.kind == "connect":
            finish(c, "NO_PROMPT:connect")
    print(f"connected {sum(g.connected for g in groups)} clients in "
          f"{time.monotonic() - t_connect:.1f} s", file=sys.stderr)

    start = time.monotonic()
    deadline = start + args.seconds

    def step(c, out):
        g = c.group
        if c.gen is None:
            c.gen = c.script(deadline)
            cmd = next(c.gen)
        else:
            ms = (time.monotonic() - c.t0) * 1000
            g.ops[c.kind] = g.ops.get(c.kind, 0) + 1
            if c.timed and c.kind != "verify":
                g.lat.setdefault(c.kind, []).append(ms)
            try:
                cmd = c.gen.send(out)
            except StopIteration:
                return
        c.send(cmd)

    for c in clients:
        if not c.done:
            step(c, b"")
    while any(not c.done for c in clients):
        pump(1.0, step)
    elapsed = time.monotonic() - start

    for g in groups:
        small = [v for k in ("rename", "allinfo", "del") for v in g.lat.get(k, [])]
        timed_ops = sum(len(v) for v in g.lat.values())
        fields = {
            "clients": g.clients,
            "connected": g.connected,
            "ops": timed_ops,
            "ops_per_s": f"{timed_ops / args.seconds:.1f}",
            "errors": sum(g.errors.values()),
            "error_kinds": ",".join(f"{k}x{v}" for k, v in sorted(g.errors.items())) or "-",
            "acked": g.acked,
            "verified": g.verified,
            "lost": g.lost,
            "small_p50_ms": f"{pct(small, 50):.2f}",
            "small_p99_ms": f"{pct(small, 99):.2f}",
        }
        for kind in ("put", "get", "rename", "allinfo", "del"):
            v = g.lat.get(kind, [])
            fields[f"{kind}_n"] = len(v)
            fields[f"{kind}_p50_ms"] = f"{pct(v, 50):.2f}"
            fields[f"{kind}_p99_ms"] = f"{pct(v, 99):.2f}"
        fields["elapsed_s"] = f"{elapsed:.1f}"
        print(f"GROUP {g.name} " + " ".join(f"{k}={v}" for k, v in fields.items()), flush=True)


if __name__ == "__main__":
    main()
