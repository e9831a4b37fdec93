#!/usr/bin/env python3
"""faultproxy.py — a TCP proxy on 127.0.0.1 that simulates bad links.

These machines have no netem, so tests put this in front of `git daemon`.

  faultproxy.py --listen PORT --target HOST:PORT --mode MODE [options]

  --listen PORT      0 = pick a free port. The chosen port is printed on the
                     first line of stdout (then stdout is flushed); then a
                     line "accept N" as it accepts its Nth connection, so a
                     test can wait for that event instead of sleeping.
  --mode pass        forward both ways unchanged.
  --mode cut-after-bytes --bytes N
                     forward, but once N bytes in total (both directions of
                     one connection together) have passed, close both sides
                     of that connection (the Nth byte is the last delivered).
                     With --times K only the first K connections are cut;
                     later ones pass.
  --mode stall       accept and never read, answer or forward; the sockets
                     stay open until the proxy exits.

Guarantees: listens only on 127.0.0.1; exits (closing every socket) when
its stdin reaches EOF or on SIGTERM/SIGINT; standard library only.
"""
import argparse
import os
import signal
import socket
import sys
import threading


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--mode", required=True,
                   choices=["pass", "cut-after-bytes", "stall"])
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--times", type=int, default=0,
                   help="cut only the first K connections (0 = all)")
    a = p.parse_args()
    host, _, port = a.target.rpartition(":")
    a.target = (host or "127.0.0.1", int(port))
    if a.mode == "cut-after-bytes" and a.bytes <= 0:
        p.error("cut-after-bytes needs --bytes N > 0")
    return a


class Conn:
    """One proxied connection: two pump threads sharing a byte budget."""

    def __init__(self, client, args, cut):
        self.client = client
        self.args = args
        self.budget = args.bytes if cut else None
        self.lock = threading.Lock()
        self.closed = False
        self.server = None

    def start(self):
        try:
            self.server = socket.create_connection(self.args.target, timeout=10)
            self.server.settimeout(None)
        except OSError:
            self.close()
            return
        for src, dst in ((self.client, self.server), (self.server, self.client)):
            threading.Thread(target=self.pump, args=(src, dst),
                             daemon=True).start()

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.server):
            if s is None:
                continue
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                cut = False
                with self.lock:
                    if self.closed:
                        break
                    if self.budget is not None:
                        if len(data) >= self.budget:
                            data = data[:self.budget]
                            cut = True
                        self.budget -= len(data)
                dst.sendall(data)
                if cut:
                    break
        except OSError:
            pass
        self.close()


def main():
    args = parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.listen))
    lsock.listen(64)
    lsock.settimeout(0.2)
    print(lsock.getsockname()[1], flush=True)

    def watch_stdin():
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()

    held = []  # stalled sockets and live connections, closed at exit
    n = 0
    while not stop.is_set():
        try:
            client, _ = lsock.accept()
        except socket.timeout:
            continue
        except OSError:
            break
        n += 1
        try:
            print("accept %d" % n, flush=True)
        except (OSError, ValueError):
            pass  # nobody reads the events any more
        if args.mode == "stall":
            held.append(client)
            continue
        cut = args.mode == "cut-after-bytes" and (args.times == 0 or
                                                 n <= args.times)
        c = Conn(client, args, cut)
        held.append(c)
        c.start()

    lsock.close()
    for h in held:
        h.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
