"""Text forms config values take (host names, IPv4 addresses, URLs, paths), checked the same
way by every domain's config rules on the device and under CPython (`upile provision`).

Each predicate returns None when the text is fine, else a short phrase saying what is wrong
(the caller prefixes the key). Never the value itself: it may be a secret.
"""


def _label_ok(s):
    # RFC 1123 host name label: letters, digits, hyphens; no hyphen first or last
    if not 1 <= len(s) <= 63 or s[0] == "-" or s[-1] == "-":
        return False
    for c in s:
        if not ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c == "-"):
            return False
    return True


def digits(s):
    """Non-empty and only ASCII digits (str.isdigit takes other scripts' digits on CPython)."""
    if not s:
        return False
    for c in s:
        if not "0" <= c <= "9":
            return False
    return True


def label(s):
    return None if _label_ok(s) else "not a host name label (letters, digits and inner hyphens)"


def ipv4(s):
    parts = s.split(".")
    if len(parts) != 4:
        return "not an IPv4 address a.b.c.d"
    for p in parts:
        if len(p) > 3 or not digits(p) or int(p) > 255:
            return "not an IPv4 address a.b.c.d"
    return None


def host(s):
    """A DNS host name (RFC 1123) or a dotted IPv4 address."""
    if not s or len(s) > 253:
        return "not a host name or IPv4 address"
    labels = s.split(".")
    if all(digits(p) for p in labels if p):
        return ipv4(s)  # all numeric: only an IPv4 address makes sense
    for p in labels:
        if not _label_ok(p):
            return "not a host name or IPv4 address"
    return None


def url(s):
    """http(s)://host[:port][/path] as lib/http.py's parse_url takes it, no whitespace."""
    for c in s:
        if c <= " " or c == "\x7f":
            return "has a space or control character"
    if s.startswith("https://"):
        rest = s[8:]
    elif s.startswith("http://"):
        rest = s[7:]
    else:
        return "not an http:// or https:// URL"
    i = rest.find("/")
    hostport = rest if i < 0 else rest[:i]
    if ":" in hostport:
        hostport, port = hostport.rsplit(":", 1)
        if len(port) > 5 or not digits(port) or not 1 <= int(port) <= 65535:
            return "port is not 1-65535"
    err = host(hostport)
    return None if err is None else "host is " + err


def printable(s):
    """Printable ASCII without spaces (identities that end up in URLs, logs and AT commands)."""
    for c in s:
        if not "!" <= c <= "~":
            return "has a character that is not printable ASCII or is a space"
    return None


def file_path(s, under="/"):
    """An absolute file path below `under`, no empty, '.' or '..' segments, no trailing '/'."""
    if not s.startswith(under) or s.endswith("/"):
        return "not a file path under " + under
    for seg in s[1:].split("/"):
        if seg in ("", ".", ".."):
            return "not a file path under " + under
    return printable(s)
