"""Drives one Kazoo Lock for lock/kazoo_test.go.

Usage: python3 kazoo_lock.py HOSTS PATH [EXTRA_LOCK_PATTERN...]

With patterns, the Lock gets extra_lock_patterns (Kazoo 2.7.1 and later).
Says "ready <kazoo version>" once connected, then reads one command a line
from stdin and answers each with one line on stdout:

    acquire SECONDS   "acquired <node>", or "timeout" when not held by then
    release           "released"

It exits at the end of stdin, closing its session.
"""
import logging
import sys

from kazoo.client import KazooClient
from kazoo.exceptions import LockTimeout
from kazoo.version import __version__


def say(*words):
    print(*words, flush=True)


def main():
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    hosts, path, patterns = sys.argv[1], sys.argv[2], sys.argv[3:]
    zk = KazooClient(hosts=hosts, timeout=10.0)
    zk.start(timeout=15)
    if patterns:
        lock = zk.Lock(path, "kazoo-test", extra_lock_patterns=patterns)
    else:
        lock = zk.Lock(path, "kazoo-test")
    say("ready", __version__)
    try:
        for line in sys.stdin:
            cmd = line.split()
            if cmd[0] == "acquire":
                try:
                    held = lock.acquire(timeout=float(cmd[1]))
                except LockTimeout:
                    held = False
                say("acquired", lock.node) if held else say("timeout")
            elif cmd[0] == "release":
                lock.release()
                say("released")
            else:
                say("error unknown command", cmd[0])
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    main()
