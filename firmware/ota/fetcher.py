"""A release source and the HTTP side of an OTA download.

A Fetcher lives for one phase (the service makes one for the envelope and another for the
download, and drops this module in between): URL, options, byte and request counts, the
size-capped envelope, Range reads. The download itself (app files: firmware/ota/download.py,
an image: image.py) is imported only when a verified release is fetched, so that code is
not in the heap while the signature is checked.
"""
from firmware.ota import FetchError

# HTTP failures that a later attempt can cure; others (bad_url, insecure, tls, redirects,
# too_large, 4xx) need a change of configuration or release.
_TRANSIENT = ("timeout", "connect", "io", "short_body", "bad_response", "no_range", "bad_range")


def from_http(e):
    t = e.reason in _TRANSIENT or (e.reason == "status" and e.status >= 500)
    return FetchError(e.reason if e.reason != "status" else "http_%d" % e.status, e.detail, t)


class Fetcher:
    """One release source (a directory URL); counts bytes it downloaded in `net_bytes`."""

    def __init__(self, url, *, http_opts=None, max_envelope=4096, system=None, log=None):
        self.url = url.rstrip("/")
        self.opts = http_opts or {}
        self.max_envelope = max_envelope
        self.system = system
        self.log = log
        self.buf = None  # lib/slotcheck's 1 KiB buffer while a download runs
        self.net_bytes = 0
        self.requests = 0
        self.copied = 0  # files taken from the running slot

    async def _get(self, name, **kw):
        import http

        self.requests += 1
        try:
            return await http.get(self.url + "/" + name, **self.opts, **kw)
        except http.HTTPError as e:
            raise from_http(e)

    async def envelope(self):
        """The signed manifest envelope as bytes (size-capped)."""
        import http

        r = await self._get("manifest.dsse.json", limit=self.max_envelope)
        try:
            data = await r.read(self.max_envelope)
        except http.HTTPError as e:
            raise from_http(e)
        finally:
            await r.close()
        self.net_bytes += len(data)
        return data

    async def range_into(self, name, start, size, sink):
        """Fetch bytes [start, start+size) of `name`, handing each buffer-sized piece to sink(mv)."""
        import http

        r = await self._get(name, start=start, end=start + size - 1)
        mv = memoryview(self.buf)
        try:
            left = size
            while left:
                n = await r.fill(mv[: min(len(mv), left)])
                if n == 0:
                    raise FetchError("short_body", "%s: %d bytes missing" % (name, left))
                self.net_bytes += n
                left -= n
                sink(mv[:n])
            if await r.readinto(mv[:1]):
                raise FetchError("too_long", "%s: more bytes than the manifest says" % name)
        except http.HTTPError as e:
            raise from_http(e)
        finally:
            await r.close()

    async def download_app(self, ebox, env_hex, box):
        """Fill the spare slot with the release; install info (see download.app).

        ebox/box hold the envelope bytes and the checked payload: the first step
        (prepare.py) puts the slot's index and envelope on flash, then both boxes are
        emptied and prepare leaves the heap before the file loop (download.py)."""
        from firmware.ota import forget, prepare

        slot, prog = await prepare.prepare_app(self, ebox, env_hex, box[0])
        prepare = None
        forget("firmware.ota.prepare")  # its code is not needed for the files
        box.clear()
        ebox.clear()
        from firmware.ota import download

        return await download.app(self, slot, prog)

    async def download_image(self, env_hex, payload):
        """Stream the image into the spare partition; install info (see image.image)."""
        from firmware.ota import image

        return await image.image(self, env_hex, payload)
