"""Incoming OCPP 1.6J payloads checked against the official schemas (types, enums, required
fields, lengths, date-times, no unknown fields), from the compact tables that
tools/upile/ocppgen.py generates at build time (schemas.py; grammar there). No JSON-schema
engine and no schema files on the pile: one short string per message, walked with an index.

check(spec, payload) raises Invalid(code, where) with the CALLERROR code OCPP-J 1.6 table 7
gives for the fault (docs/ocpp.md "Validation"):
  not an object, an unknown field        FormationViolation (not the PDU's structure)
  a required field missing               ProtocolError (payload incomplete)
  a wrong JSON type                      TypeConstraintViolation
  a bad enum value, a string too long,   PropertyConstraintViolation
  a malformed date-time
  an array under its minimum size        OccurenceConstraintViolation (1.6 spells it so)
"""
from micropython import const

FORMATION = "FormationViolation"
PROTOCOL = "ProtocolError"
TYPE = "TypeConstraintViolation"
PROPERTY = "PropertyConstraintViolation"
OCCURENCE = "OccurenceConstraintViolation"

_MAX_DEPTH = const(8)


class Invalid(Exception):
    """args: (CALLERROR code, where: "chargingProfile.stackLevel: missing")."""


def _num(spec, i):
    n = 0
    j = i
    while j < len(spec) and "0" <= spec[j] <= "9":
        n = n * 10 + ord(spec[j]) - 48
        j += 1
    return (n if j > i else None), j


def _skip(spec, i):
    """Index just past the type starting at spec[i]."""
    c = spec[i]
    if c == "{":
        depth = 0
        while True:
            ch = spec[i]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
    if c == "a":
        _, i = _num(spec, i + 1)
        return _skip(spec, i)
    _, i = _num(spec, i + 1)
    return i


def _digits(s, i, n):
    for k in range(i, i + n):
        if not "0" <= s[k] <= "9":
            return False
    return True


def datetime_ok(s):
    """RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), fields in range."""
    if len(s) < 20 or not (_digits(s, 0, 4) and s[4] == "-" and _digits(s, 5, 2) and s[7] == "-"
                           and _digits(s, 8, 2) and s[10] in "Tt" and _digits(s, 11, 2) and s[13] == ":"
                           and _digits(s, 14, 2) and s[16] == ":" and _digits(s, 17, 2)):
        return False
    if not (1 <= int(s[5:7]) <= 12 and 1 <= int(s[8:10]) <= 31 and int(s[11:13]) <= 23 and int(s[14:16]) <= 59
            and int(s[17:19]) <= 60):
        return False
    i = 19
    if s[i] == ".":
        i += 1
        j = i
        while i < len(s) and "0" <= s[i] <= "9":
            i += 1
        if i == j:
            return False
    rest = s[i:]
    if rest in ("Z", "z"):
        return True
    return len(rest) == 6 and rest[0] in "+-" and _digits(rest, 1, 2) and rest[3] == ":" and _digits(rest, 4, 2) \
        and int(rest[1:3]) <= 23 and int(rest[4:6]) <= 59


def _val(spec, i, v, where, enums, depth):
    """Check v against the type at spec[i]; returns the index past it."""
    c = spec[i]
    if c == "{":
        return _obj(spec, i, v, where, enums, depth + 1)
    if c == "a":
        mn, j = _num(spec, i + 1)
        if not isinstance(v, list):
            raise Invalid(TYPE, where + ": expected an array")
        if mn and len(v) < mn:
            raise Invalid(OCCURENCE, "%s: %d items, at least %d" % (where, len(v), mn))
        end = _skip(spec, j)
        for k, item in enumerate(v):
            _val(spec, j, item, "%s[%d]" % (where, k), enums, depth)
        return end
    n, end = _num(spec, i + 1)
    if c in "sut":
        if not isinstance(v, str):
            raise Invalid(TYPE, where + ": expected a string")
        if c == "t":
            if not datetime_ok(v):
                raise Invalid(PROPERTY, where + ": not an RFC 3339 date-time")
        elif n is not None and len(v) > n:
            raise Invalid(PROPERTY, "%s: longer than %d" % (where, n))
    elif c == "i":
        if type(v) is not int:
            raise Invalid(TYPE, where + ": expected an integer")
    elif c == "n":
        if type(v) is not int and type(v) is not float:
            raise Invalid(TYPE, where + ": expected a number")
    elif c == "b":
        if type(v) is not bool:
            raise Invalid(TYPE, where + ": expected true or false")
    elif c == "e":
        if not isinstance(v, str):
            raise Invalid(TYPE, where + ": expected a string")
        if v not in enums[n]:
            raise Invalid(PROPERTY, "%s: %s is not one of its values" % (where, v[:24]))
    return end


def _obj(spec, i, v, where, enums, depth):
    if depth > _MAX_DEPTH:
        raise Invalid(FORMATION, where + ": nested too deep")
    if not isinstance(v, dict):
        raise Invalid(FORMATION if depth == 1 else TYPE, (where or "payload") + ": expected an object")
    start = i
    i += 1
    extra = spec[i] == "+"
    if extra:
        i += 1
    seen = 0
    pre = where + "." if where else ""
    while spec[i] != "}":
        j = i
        while spec[j] != "!" and spec[j] != "?":
            j += 1
        name = spec[i:j]
        k = j + 1
        if name in v:
            seen += 1
            i = _val(spec, k, v[name], pre + name, enums, depth)
        else:
            if spec[j] == "!":
                raise Invalid(PROTOCOL, pre + name + ": missing")
            i = _skip(spec, k)
        if spec[i] == ",":
            i += 1
    if seen < len(v) and not extra:
        names = _names(spec, start)
        for key in v:
            if key not in names:
                raise Invalid(FORMATION, "%s%s: not a field of this message" % (pre, str(key)[:24]))
    return i + 1


def _names(spec, i):
    """The field names of the object at spec[i] (only when a payload has one too many)."""
    out = []
    i += 1
    if spec[i] == "+":
        i += 1
    while spec[i] != "}":
        j = i
        while spec[j] != "!" and spec[j] != "?":
            j += 1
        out.append(spec[i:j])
        i = _skip(spec, j + 1)
        if spec[i] == ",":
            i += 1
    return out


def check(spec, payload, enums):
    """Raise Invalid unless `payload` matches `spec` (a generated table string)."""
    _obj(spec, 0, payload, "", enums, 1)


def request(action, payload):
    """Check a CALL the CSMS sent; False when the action has no table (not a CSMS call)."""
    from firmware.proto.ocpp import schemas

    spec = schemas.REQ.get(action)
    if spec is None:
        return False
    check(spec, payload, schemas.ENUMS)
    return True


def response(action, payload):
    """Check the CALLRESULT payload of one of our CALLs."""
    from firmware.proto.ocpp import schemas

    spec = schemas.RES.get(action)
    if spec is not None:
        check(spec, payload, schemas.ENUMS)


def known(action):
    """An action OCPP 1.6 (with the security whitepaper) has, either direction."""
    from firmware.proto.ocpp import schemas

    return action in schemas.REQ or action in schemas.RES
