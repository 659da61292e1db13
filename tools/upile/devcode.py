"""Code the host runs on a board in its raw REPL (MicroPython source as strings).

Small and memory-aware: fixed 512-byte buffers, one file open at a time, output printed as
one JSON line (or streamed text for logs), so a 100 KB-heap ESP32 answers as well as the sim.
"""

# Walk folder trees; print one line per file: "F <dir> <size> <sha256 hex> <relative path>"
# (streamed: nothing proportional to the number of files is held on the board).
TREE_HASHES = r"""
import os, hashlib, binascii
_b = memoryview(bytearray(512))
def _h(p):
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        while True:
            n = f.readinto(_b)
            if not n:
                break
            h.update(_b[:n])
    return binascii.hexlify(h.digest()).decode()
def _walk(base, rel):
    try:
        ents = list(os.ilistdir(base + '/' + rel if rel else base))
    except OSError:
        return
    for e in ents:
        r = rel + '/' + e[0] if rel else e[0]
        if e[1] == 0x4000:
            _walk(base, r)
        else:
            p = base + '/' + r
            print('F', base, os.stat(p)[6], _h(p), r)
for _d in %(dirs)r:
    _walk(_d, '')
"""


def parse_tree_hashes(out, dirs):
    """{dir: {relative path: [size, sha256 hex]}} from TREE_HASHES output."""
    res = {d: {} for d in dirs}
    for line in out.splitlines():
        parts = line.rstrip("\r").split(" ", 4)
        if len(parts) == 5 and parts[0] == "F" and parts[1] in res:
            res[parts[1]][parts[4]] = [int(parts[2]), parts[3]]
    return res


# Status of the pile: everything that can be read without the app's help, plus firmware.diag's
# live snapshot when the app was running (its objects survive the Ctrl-C that stopped it).
STATUS = r"""
import os, sys, gc, json
def _status():
    r = {}
    def put(k, f):
        try:
            r[k] = f()
        except Exception as e:
            r[k] = {'error': '%s: %s' % (type(e).__name__, e)}
    def version():
        from firmware.version import VERSION
        return VERSION
    def mp():
        i = sys.implementation
        return {'release': '%d.%d.%d' % i.version[:3], 'machine': getattr(i, '_machine', '?'),
                'platform': sys.platform}
    def ota():
        import fsatomic
        return fsatomic.read_json('/ota/state.json')
    def slots():
        import binascii
        out = {}
        for s in ('a', 'b'):
            d = '/slots/' + s
            try:
                names = [e[0] for e in os.ilistdir(d)]
            except OSError:
                continue
            info = {'files': 0}
            for n in names:
                if n.startswith('manifest'):
                    try:
                        with open(d + '/' + n) as f:
                            env = json.loads(f.read())
                        p = json.loads(binascii.a2b_base64(env['payload']))
                        info['version'] = p.get('version')
                        info['counter'] = p.get('counter')
                    except (OSError, ValueError, KeyError, TypeError):
                        info['manifest'] = 'unreadable'
            info['files'] = len(names)
            out[s] = info
        return out
    def running():
        for p in sys.path:
            if p.startswith('/slots/'):
                return p.split('/')[2]
        return None
    def reset_cause():
        import machine
        return {1: 'power-on', 2: 'hard', 3: 'watchdog', 4: 'deepsleep', 5: 'soft'}.get(machine.reset_cause(), machine.reset_cause())
    def heap():
        gc.collect()
        return {'free': gc.mem_free(), 'used': gc.mem_alloc()}
    def flash():
        st = os.statvfs('/')
        return {'free': st[0] * st[3], 'total': st[0] * st[2]}
    def live():
        d = sys.modules.get('firmware.diag')
        return d.snapshot() if d else None
    def ota_log():
        out = []
        for n in ('/data/log/log.1', '/data/log/log.0'):
            try:
                with open(n) as f:
                    for line in f:
                        if ' ota' in line or 'boot' in line:
                            out.append(line.rstrip())
                            out = out[-8:]
            except OSError:
                pass
        return out
    put('version', version)
    put('micropython', mp)
    put('running_slot', running)
    put('ota', ota)
    put('slots', slots)
    put('reset_cause', reset_cause)
    put('heap', heap)
    put('flash', flash)
    put('ota_events', ota_log)
    put('live', live)
    return r
print(json.dumps(_status()))
"""

# Print the persisted log ring, older file first, in fixed chunks.
LOGS = r"""
import sys
_l = sys.modules.get('log')
if _l:
    _l.flush()
_b = bytearray(512)
for _n in ('/data/log/log.1', '/data/log/log.0'):
    try:
        _f = open(_n, 'rb')
    except OSError:
        continue
    while True:
        _k = _f.readinto(_b)
        if not _k:
            break
        sys.stdout.write(bytes(_b[:_k]).decode('utf-8', 'replace'))
    _f.close()
"""

# Provision: the JSON text is in _cfg (sent in chunks); firmware/cfgstore.write validates it
# with the board's own firmware (its rules may be newer or older than the host's), then writes
# it atomically and reads it back.
PROVISION = r"""
import json
from firmware import config as _c, cfgstore as _s
try:
    _s.write(json.loads(_cfg), %(path)r)
    _ok = 'ok'
except _c.ConfigError as e:
    _ok = e.args[0]
except ValueError:
    _ok = 'not valid JSON'
except OSError as e:
    _ok = 'write failed: %%r' %% (e,)
print(json.dumps(_ok))
"""
