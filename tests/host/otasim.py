"""Shared set-up for OTA scenarios on the sim board: releases, a factory pile, console waits."""
import os
import re
import time
from pathlib import Path

from upile.sim import otakit
from upile.sim.board import SimBoard

import otafault


def pad_module(n, seed):
    """Source of a module whose .mpy is ~n bytes (a bytes constant), distinct per seed."""
    data = (("%08x" % seed) * (n // 8 + 1))[:n]
    return 'DATA = b"%s"\n' % data


class Pile:
    """A sim pile running v1 from the factory, and a release server (with faults)."""

    def __init__(self, work, releases, ota=None, heap="1M", extra=None):
        self.work = Path(work)
        self.key, self.keys = otakit.dev_key(self.work / "key")
        self.ch = otakit.Channel(self.work / "srv", handler=otafault.FaultHandler)
        self.srv = otafault.install(self.ch)
        self.rel = {}
        for name, (ver, counter, modules, kw) in releases.items():
            tree = otakit.app_tree(self.work / ("tree-" + name), ver, extra=modules)
            self.rel[name] = (tree, otakit.make(self.work / "srv" / name, tree, ver, counter, self.key, **kw))
        first = next(iter(releases))
        self.ch.publish(self.work / "srv" / first)
        self.board = SimBoard(self.work / "board", heap=heap)
        tree, payload = self.rel[first]
        cfg = otakit.sim_config(self.ch.url(), ota, extra)
        self.board.install_files(otakit.factory_files(tree, self.work / "srv" / first, payload, self.keys, cfg))
        otakit.wired_link(self.board)

    def publish(self, name):
        self.ch.publish(self.work / "srv" / name)

    def text(self):
        return self.board.console_text()

    def wait(self, pattern, timeout=30, start=0):
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = rx.search(self.text(), start)
            if m:
                return m.end()
            time.sleep(0.05)
        raise AssertionError("no %r within %d s; console tail:\n%s" % (pattern, timeout, self.text()[-2500:]))

    def running_version(self):
        vs = re.findall(r"uPile (\S+) on ", self.text())
        return vs[-1] if vs else None

    def close(self):
        self.board.close()
        self.ch.close()
