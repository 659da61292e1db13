"""What both the manifest check and the file-index check need: the error type and the
path and hash rules. Small on purpose: index.py runs during a download, when the
signature code (manifest.py and the crypto) has been dropped from the heap."""

_PATH_OK = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/"
_HEX = "0123456789abcdef"


class ManifestError(ValueError):
    def __init__(self, reason, detail=""):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


def check_path(path, lim):
    """Raise unsafe_path unless `path` is a plain relative path inside an allowed root."""
    if not isinstance(path, str) or not path or len(path) > lim["max_path"]:
        raise ManifestError("unsafe_path", "path must be 1..%d chars: %r" % (lim["max_path"], path))
    for c in path:
        if c not in _PATH_OK:
            raise ManifestError("unsafe_path", "character %r in %r" % (c, path))
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise ManifestError("unsafe_path", "empty, . or .. segment in %r" % path)
    for root in lim["roots"]:
        if path.startswith(root):
            return path
    raise ManifestError("unsafe_path", "%r is outside %s" % (path, ", ".join(lim["roots"])))


def is_sha(v):
    if not isinstance(v, str) or len(v) != 64:
        return False
    for c in v:
        if c not in _HEX:
            return False
    return True
