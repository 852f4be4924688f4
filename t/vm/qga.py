#!/usr/bin/env python3
"""Talk to a QEMU guest agent on its unix socket, as PVE's `qm guest cmd` / `qm guest exec` do.

    qga.py SOCKET ping                 exit 0 when the agent answers (within --timeout)
    qga.py SOCKET exec PROG [ARG...]   run PROG in the guest; its stdout and stderr here, its
                                       exit code as ours (--stdin: ours becomes its stdin,
                                       so nothing secret goes on a command line)
    qga.py SOCKET shutdown             power the guest off (what `qm shutdown` asks the agent)

The socket is QEMU's side of the guest's virtio-serial port org.qemu.guest_agent.0. Every call
starts with guest-sync-delimited, so replies left over from an earlier, timed-out call are
skipped.
"""

import argparse
import base64
import json
import random
import socket
import sys
import time


class Agent:
    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the guest agent's socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.strip(b"\xff \r")

    def _send(self, command, arguments=None):
        msg = {"execute": command}
        if arguments is not None:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")

    def sync(self):
        # 0xff resets the agent's parser after a half-sent command
        token = random.randint(1, 2**31 - 1)
        self.sock.sendall(b"\xff")
        self._send("guest-sync-delimited", {"id": token})
        while True:
            line = self._line()
            if line and json.loads(line).get("return") == token:
                return

    def call(self, command, arguments=None):
        self._send(command, arguments)
        while True:
            line = self._line()
            if not line:
                continue
            reply = json.loads(line)
            if "error" in reply:
                raise RuntimeError(f"{command}: {reply['error'].get('desc', reply['error'])}")
            return reply.get("return")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("socket")
    parser.add_argument("command", choices=["ping", "exec", "shutdown"])
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--stdin", action="store_true")
    args = parser.parse_args()

    try:
        agent = Agent(args.socket, args.timeout)
        agent.sync()
        if args.command == "ping":
            agent.call("guest-ping")
            return 0
        if args.command == "shutdown":
            # no reply on success: the guest goes down
            agent._send("guest-shutdown", {"mode": "powerdown"})
            return 0
        if not args.argv:
            parser.error("exec needs a program")
        request = {"path": args.argv[0], "arg": args.argv[1:], "capture-output": True}
        if args.stdin:
            request["input-data"] = base64.b64encode(sys.stdin.buffer.read()).decode()
        started = agent.call("guest-exec", request)
        deadline = time.monotonic() + 120
        while True:
            status = agent.call("guest-exec-status", {"pid": started["pid"]})
            if status.get("exited"):
                break
            if time.monotonic() > deadline:
                print(f"qga: {args.argv[0]} still runs after 120 s", file=sys.stderr)
                return 124
            time.sleep(0.2)
        sys.stdout.buffer.write(base64.b64decode(status.get("out-data", "")))
        sys.stderr.buffer.write(base64.b64decode(status.get("err-data", "")))
        return status.get("exitcode", 1 if "signal" in status else 0)
    except (OSError, EOFError, RuntimeError, ValueError) as e:
        if args.command == "exec":
            print(f"qga: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
