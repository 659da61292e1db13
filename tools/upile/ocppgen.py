"""Generate the OCPP 1.6J validation tables the pile uses (run by `upile build`).

The official OCA JSON schemas (the ones bundled in the pinned `ocpp` package) are compiled
on the host into one compact string per message, so the device validates every incoming
payload without a JSON-schema engine or the schemas themselves (78 files, ~90 KB). Output:

- firmware/proto/ocpp/schemas.py: ENUMS, REQ (payloads of CALLs the CSMS sends us) and
  RES (payloads of CALLRESULTs to CALLs we send), read by firmware/proto/ocpp/validate.py;
- firmware/proto/ocpp/buildtime.py: FLOOR, the commit time of the source tree (the release's
  build time): the clock floor for TLS date checks before any time source answered.

Both files are generated, never committed (.gitignore). The string grammar (validate.py
walks it):
    obj   := '{' ['+'] field (',' field)* '}'      '+': extra properties allowed
    field := name ('!' required | '?' optional) type
    type  := 's' [max] | 'u' [max] (uri) | 't' (date-time) | 'i' | 'n' | 'b'
           | 'e' index (into ENUMS) | 'a' [minItems] type | obj
"""
import json
import subprocess
import time
from pathlib import Path

from upile import paths

OUT = paths.ROOT / "firmware" / "proto" / "ocpp" / "schemas.py"
FLOOR_OUT = paths.ROOT / "firmware" / "proto" / "ocpp" / "buildtime.py"

# Who sends the CALL of each 1.6 action (core, the optional profiles and the security
# whitepaper): the pile validates requests of CSMS actions and responses of its own.
CP_ACTIONS = ("Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
              "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StartTransaction", "StatusNotification",
              "StopTransaction", "LogStatusNotification", "SecurityEventNotification", "SignCertificate",
              "SignedFirmwareStatusNotification")
CSMS_ACTIONS = ("CancelReservation", "ChangeAvailability", "ChangeConfiguration", "ClearCache",
                "ClearChargingProfile", "DataTransfer", "GetCompositeSchedule", "GetConfiguration",
                "GetDiagnostics", "GetLocalListVersion", "RemoteStartTransaction", "RemoteStopTransaction",
                "ReserveNow", "Reset", "SendLocalList", "SetChargingProfile", "TriggerMessage", "UnlockConnector",
                "UpdateFirmware", "CertificateSigned", "DeleteCertificate", "ExtendedTriggerMessage",
                "GetInstalledCertificateIds", "GetLog", "InstallCertificate", "SignedUpdateFirmware")


class SchemaError(Exception):
    """A schema construct this generator does not translate (the build fails loudly)."""


def schema_dir():
    import ocpp

    return Path(ocpp.__file__).parent / "v16" / "schemas"


class _Gen:
    def __init__(self):
        self.enums = []
        self._enum_ix = {}

    def enum(self, values):
        key = tuple(values)
        if key not in self._enum_ix:
            self._enum_ix[key] = len(self.enums)
            self.enums.append(key)
        return self._enum_ix[key]

    def type(self, s, root, where):
        if "$ref" in s:
            ref = s["$ref"]
            if not ref.startswith("#/definitions/"):
                raise SchemaError("%s: $ref %s" % (where, ref))
            return self.type(root["definitions"][ref[len("#/definitions/"):]], root, where)
        t = s.get("type")
        if "enum" in s:
            if t != "string":
                raise SchemaError("%s: enum of %s" % (where, t))
            return "e%d" % self.enum(s["enum"])
        if t == "string":
            fmt = s.get("format")
            if fmt == "date-time":
                return "t"
            mx = s.get("maxLength")
            return ("u" if fmt == "uri" else "s") + ("%d" % mx if mx is not None else "")
        if t == "integer":
            return "i"
        if t == "number":
            return "n"  # multipleOf (0.1 on charging limits) is left to the feature that reads it
        if t == "boolean":
            return "b"
        if t == "array":
            return "a%s%s" % (s.get("minItems", "") or "", self.type(s["items"], root, where + "[]"))
        if t == "object":
            return self.obj(s, root, where)
        raise SchemaError("%s: type %r" % (where, t))

    def obj(self, s, root, where):
        req = set(s.get("required", ()))
        parts = []
        for name, sub in s.get("properties", {}).items():
            if not name.isalnum():
                raise SchemaError("%s: property name %r" % (where, name))
            parts.append(name + ("!" if name in req else "?") + self.type(sub, root, where + "." + name))
        extra = s.get("additionalProperties", True) is not False
        return "{" + ("+" if extra else "") + ",".join(parts) + "}"


def tables(sdir=None):
    """(ENUMS, REQ, RES) from the schema folder."""
    sdir = Path(sdir or schema_dir())
    g = _Gen()
    req, res = {}, {}
    for action in sorted(CSMS_ACTIONS):
        s = json.loads((sdir / (action + ".json")).read_text())
        req[action] = g.obj(s, s, action)
    for action in sorted(CP_ACTIONS):
        s = json.loads((sdir / (action + "Response.json")).read_text())
        res[action] = g.obj(s, s, action + "Response")
    return g.enums, req, res


def render(enums, req, res):
    out = ['"""GENERATED by tools/upile/ocppgen.py from the OCA OCPP 1.6J JSON schemas (the `ocpp`',
           'package); do not edit, not committed. Grammar: tools/upile/ocppgen.py."""',
           "# fmt: off", "ENUMS = ("]
    for e in enums:
        out.append("    (%s)," % ", ".join(json.dumps(v) for v in e) + ("," if len(e) == 1 else ""))
    out.append(")")
    for name, tab in (("REQ", req), ("RES", res)):
        out.append("%s = {" % name)
        for action, spec in tab.items():
            out.append("    %s: %s," % (json.dumps(action), json.dumps(spec)))
        out.append("}")
    return "\n".join(out) + "\n"


def commit_time(root=paths.ROOT):
    """Unix time of the source tree's HEAD commit, else now (a tree without git)."""
    try:
        p = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%ct"], capture_output=True, text=True,
                           timeout=10)
        if p.returncode == 0 and p.stdout.strip().isdigit():
            return int(p.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return int(time.time())


def _write_if_changed(path, text):
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def generate(out=OUT, floor_out=FLOOR_OUT, sdir=None):
    """Write both generated modules when their content changed; returns the changed paths."""
    enums, req, res = tables(sdir)
    changed = []
    if _write_if_changed(Path(out), render(enums, req, res)):
        changed.append(out)
    floor = ('"""GENERATED by tools/upile/ocppgen.py: the source tree\'s commit time, the clock floor for TLS\n'
             'before NTP, the modem or the CSMS gave the time (docs/ocpp.md). Not committed."""\n'
             "FLOOR = %d\n" % commit_time())
    if _write_if_changed(Path(floor_out), floor):
        changed.append(floor_out)
    return changed


if __name__ == "__main__":
    for p in generate():
        print("generated", p)
