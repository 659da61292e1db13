"""Writing and reading the flash file while the chip is off, through the same littlefs
and SimFlash code the chip uses (a short `micropython` run), so the image is exactly what
a board's filesystem would hold."""
import json
import os
import shutil
import subprocess
import tempfile

from upile import paths

_SCRIPT = r"""
import sys, os, json
from chip.simflash import SimFlash, mount
job = json.load(open(sys.argv[1]))
bd = SimFlash(job["flash"], job["size"])
mount(bd, "/flash")

def mkdirs(p):
    cur = ""
    for part in p.strip("/").split("/")[:-1]:
        cur += "/" + part
        try:
            os.mkdir("/flash" + cur)
        except OSError:
            pass

buf = bytearray(4096)
for dev, host in job.get("put", []):
    mkdirs(dev)
    with open(host, "rb") as src, open("/flash" + dev, "wb") as dst:
        while True:
            n = src.readinto(buf)
            if not n:
                break
            dst.write(memoryview(buf)[:n])
for dev, host in job.get("get", []):
    try:
        src = open("/flash" + dev, "rb")
    except OSError:
        continue
    with src, open(host, "wb") as dst:
        while True:
            n = src.readinto(buf)
            if not n:
                break
            dst.write(memoryview(buf)[:n])
for dev in job.get("rm", []):
    try:
        os.remove("/flash" + dev)
    except OSError:
        pass
import vfs
vfs.umount("/flash")
print("flash-ok")
"""


def _micropython():
    return paths.tool("micropython")


def run_job(flash, size, put=(), get=(), rm=(), timeout=60):
    with tempfile.TemporaryDirectory(prefix="upile-flash-") as tmp:
        job = os.path.join(tmp, "job.json")
        script = os.path.join(tmp, "flashjob.py")
        with open(script, "w") as f:
            f.write(_SCRIPT)
        with open(job, "w") as f:
            json.dump({"flash": str(flash), "size": size, "put": list(put), "get": list(get), "rm": list(rm)}, f)
        env = dict(os.environ, MICROPYPATH=str(paths.ROOT))
        p = subprocess.run([_micropython(), "-X", "heapsize=1M", script, job], env=env, capture_output=True,
                           text=True, timeout=timeout)
        if p.returncode != 0 or "flash-ok" not in p.stdout:
            raise RuntimeError("flash job failed:\n%s\n%s" % (p.stdout[-2000:], p.stderr[-2000:]))


def install(flash, size, files):
    """files: {device path: bytes}; writes them into the littlefs image (formats if needed)."""
    tmp = tempfile.mkdtemp(prefix="upile-files-")
    try:
        put = []
        for i, (dev, data) in enumerate(sorted(files.items())):
            if not dev.startswith("/"):
                raise ValueError("device paths are absolute: %r" % dev)
            host = os.path.join(tmp, "f%d" % i)
            with open(host, "wb") as f:
                f.write(data if isinstance(data, bytes) else data.encode())
            put.append((dev, host))
        run_job(flash, size, put=put)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read(flash, size, dev_paths):
    """{device path: bytes or None} read from the image."""
    tmp = tempfile.mkdtemp(prefix="upile-files-")
    try:
        get = [(dev, os.path.join(tmp, "g%d" % i)) for i, dev in enumerate(dev_paths)]
        run_job(flash, size, get=get)
        out = {}
        for dev, host in get:
            if os.path.exists(host):
                with open(host, "rb") as f:
                    out[dev] = f.read()
            else:
                out[dev] = None
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def app_files(root=paths.ROOT):
    """The source tree as a board holds it after `upile deploy`: boot.py, main.py, and
    firmware/ + lib/ sources at their device paths (the sim chip is not shipped)."""
    files = {}
    for rel in ["boot.py", "main.py"] + paths.app_sources(root):
        p = root / rel
        if p.exists():
            dev = "/" + rel
            files[dev] = p.read_bytes()
    return files
