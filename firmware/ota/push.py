"""A release a back end pushes in pieces (DNY's in-band update), written by the OTA engine.

The file is our release in one container (container.py, docs/dny.md "The container").
Nothing of the payload is written before the envelope passed the service's own check
(Ed25519 signature, product, counter, expiry, not rolled back before) and its sizes match the
header. The index becomes the spare slot's files.idx and is checked like a fetched one; the
bundle's files go into the spare slot through the engine's file writer and an image into the
spare partition through its image writer (download.FileSink, image.Writer); each file's and
the image's SHA-256 is checked as it completes, the slot once more at the end; install()
hands it to the service, which installs by the usual policy (idle ports or the window, trial
boots, rollback).

put(offset, bytes) takes the file in order, in any pieces: what is already held is
acknowledged and not written again (a server starting over at packet 1 after a reconnect;
the header and envelope are compared, so another file starts over), bytes beyond what is
held are not taken (the caller asks for the missing piece). Progress (position, byte sum,
files done) is saved with the header and envelope at file ends and every 64 KiB of image,
so after a power cut the transfer resumes there. Loaded only while a push runs.
"""
import os
from binascii import unhexlify

import fsatomic
import log
import slotcheck
from firmware.ota import FetchError, container
from firmware.ota.container import APP, HEAD, IMAGE, SIG, PushError

_log = log.get("ota")
PROGRESS = "/ota/push.json"
ENVFILE = "/ota/push.env"  # header + envelope of the file in progress
_SAVE = 8192  # app: progress saved at a file's end once this many bytes came since the last save


class Push:
    def __init__(self, svc):
        self.svc = svc
        self._new()
        self._load()

    def _new(self):
        self.state = "head"  # head, envelope, index, data, done, failed, resume
        self.pos = 0  # bytes of the file held (written, or in RAM for header and envelope)
        self.sum = 0  # their byte sum (a trailing check packet compares it)
        self.size = None
        self.head = bytearray(HEAD)
        self.env = None
        self.kind = self.env_len = self.idx_len = self.data_len = 0
        self.payload = self.env_hex = self.ready = self.failed = None
        self.claimed = False
        self.prog = None
        self.sink = self.lines = self.cur = self.writer = None
        self.staged = self.done_files = self.written = self.since = 0

    # ---- progress on flash
    def _load(self):
        """A transfer a power cut interrupted: its header, envelope and resume point."""
        try:
            prog = fsatomic.read_json(PROGRESS)
            with open(ENVFILE, "rb") as f:
                raw = f.read()
        except (OSError, ValueError, fsatomic.Corrupt):
            return
        if not prog or len(raw) < HEAD:
            return
        self.head[:] = raw[:HEAD]
        try:
            self._header()
        except PushError:
            return self._clear()
        if len(raw) != HEAD + self.env_len or slotcheck.env_sha(raw[HEAD:]) != prog.get("env"):
            return self._clear()
        self.env = bytearray(raw[HEAD:])
        self.pos, self.sum, self.prog = prog["pos"], prog["sum"], prog
        self.state = "resume"
        _log.info("OTA push resumable at byte %d of %d", self.pos, self.size)

    def _save(self, **extra):
        p = self.prog
        p["pos"], p["sum"] = self.pos, self.sum
        p.update(extra)
        fsatomic.write_json(PROGRESS, p)
        self.since = 0

    def _clear(self):
        fsatomic.remove(PROGRESS)
        try:
            os.remove(ENVFILE)
        except OSError:
            pass

    # ---- the pieces
    async def put(self, off, mv):
        """Bytes [off, off + len(mv)) of the file; returns how many bytes are held now.
        Raises PushError(reason, detail) when the file is refused (and for every later
        piece of it; a piece at offset 0 starts a new file)."""
        if off == 0 and self.state == "failed":
            self._restart()  # a new file (or the refused one again: refused again)
        if self.state == "failed":
            raise PushError(*self.failed)
        end = off + len(mv)
        if off > self.pos:
            return self.pos  # a gap: the caller asks for the piece at self.pos
        ident = HEAD + self.env_len if self.env_len else HEAD
        k1 = min(end, self.pos, ident)
        if off < k1 and not self._same(off, mv[:k1 - off]):
            _log.info("OTA push: another file than the one held, starting over")
            self._restart()
            if off:
                return 0
        if end <= self.pos and self.state != "resume":
            return self.pos  # held already: acknowledged, not written again
        try:
            if not self.claimed:
                if not self.svc.claim():
                    raise PushError("busy", "an update check runs")
                self.claimed = True
            if self.state == "resume":
                self._continue()
            if end > self.pos:
                self._take(mv[self.pos - off:])
        except PushError as e:
            if e.reason != "busy":
                self._fail(e)
            raise
        except (FetchError, ValueError) as e:  # the engine's reasons (no_partition, a manifest rule...)
            e = PushError(e.args[0] if e.args else "failed", e.args[1] if len(e.args) > 1 else "")
            self._fail(e)
            raise e
        return self.pos

    def _same(self, off, mv):
        for i in range(len(mv)):
            at = off + i
            if at < HEAD:
                if self.head[at] != mv[i]:
                    return False
            elif self.env is None or self.env[at - HEAD] != mv[i]:
                return False
        return True

    def _close(self):
        if self.sink is not None:
            self.sink.close()
            self.sink = None
        if self.lines is not None:
            self.lines.close()  # the index file closes now
            self.lines = None

    def _restart(self):
        if self.claimed:
            self.svc.release()
        self._close()
        self._clear()
        self._new()

    def _fail(self, e):
        self.failed = (e.args[0], e.args[1] if len(e.args) > 1 else "")
        _log.warn("OTA push refused %s: %s", self.failed[0], self.failed[1])
        if self.failed[0] not in SIG:
            self.svc.emit("DownloadFailed", self.failed[0], self.payload and self.payload.get("version"),
                          detail=self.failed[1], via="push")
        self._close()
        self._clear()
        if self.claimed:
            self.svc.release()
            self.claimed = False
        self.state = "failed"

    def refuse(self, reason, detail=""):
        """The sender broke the protocol around the file (a wrong packet count, a bad check
        packet): the file is refused like a bad one."""
        self._fail(PushError(reason, detail))

    def drop(self):
        """Done with this sink (installed, refused or abandoned): its code leaves the heap."""
        from firmware import ota

        ota.push_done()

    def pause(self):
        """The server went quiet: other updates may run; what is held stays (resumable)."""
        if self.claimed and self.state != "done":
            self.svc.release()
            self.claimed = False

    def _take(self, mv):
        while len(mv) and self.state != "done":
            pos = self.pos
            if pos < HEAD:
                k = min(len(mv), HEAD - pos)
                self.head[pos:pos + k] = mv[:k]
            elif pos < HEAD + self.env_len:
                k = min(len(mv), HEAD + self.env_len - pos)
                self.env[pos - HEAD:pos - HEAD + k] = mv[:k]
            elif pos < HEAD + self.env_len + self.idx_len:
                k = min(len(mv), HEAD + self.env_len + self.idx_len - pos)
                self.sink(mv[:k])
            elif self.kind == APP:
                k = self._app(mv)
            else:
                k = min(len(mv), len(self.writer.buf) - self.staged)
                self.writer.buf[self.staged:self.staged + k] = mv[:k]
                self.staged += k
            self.sum = (self.sum + sum(mv[:k])) & 0xFFFFFFFF
            self.pos += k
            mv = mv[k:]
            if self.pos == HEAD and self.state == "head":
                self._header()
                self.env = bytearray(self.env_len)
                self.state = "envelope"
            elif self.pos == HEAD + self.env_len and self.state == "envelope":
                self._envelope()
            elif self.pos == HEAD + self.env_len + self.idx_len and self.state == "index":
                self._index()
            elif self.state == "data" and self.kind == IMAGE and self.staged == len(self.writer.buf):
                self.writer.program(self.staged)  # may save progress (every 64 KiB): pos and sum are there
                self.staged = 0
            if self.pos == self.size:
                self._finish()

    # ---- header, envelope, index
    def _header(self):
        self.kind, self.env_len, self.idx_len, self.data_len = container.header(self.head, self.svc.limits)
        self.size = HEAD + self.env_len + self.idx_len + self.data_len

    def _check(self):
        """The envelope as the service checks a fetched one; sets payload and env_hex."""
        self.payload, self.env_hex = container.check(self.svc, bytes(self.env), self.kind, self.idx_len, self.data_len)
        return self.payload

    def _envelope(self):
        p = self._check()
        self.svc.emit("SignatureVerified", "ok", p.get("version"), counter=p["counter"], via="push")
        self.svc.emit("Downloading", p["kind"], p.get("version"), size=self.size, via="push")
        with open(ENVFILE, "wb") as f:
            f.write(self.head)
            f.write(self.env)
        self.prog = {"env": self.env_hex, "kind": p["kind"]}
        if self.kind == APP:
            from firmware.ota import download, prepare

            slot = prepare.spare()
            prepare.wipe(slot)
            with open(slotcheck.slot_dir(slot) + "/" + slotcheck.ENVELOPE, "wb") as f:
                f.write(self.env)
            self.prog["slot"] = slot
            import hashlib

            self.sink = download.FileSink(slotcheck.slot_dir(slot) + "/" + slotcheck.INDEX, hashlib.sha256())
            self.state = "index"
        else:
            self._image(0)
            self.state = "data"
        self._save(files=0)

    def _index(self):
        from binascii import hexlify

        from firmware.ota import index

        sink, self.sink = self.sink, None
        sink.close()
        p = self.payload
        if hexlify(sink.h.digest()).decode() != p["index"]["sha256"]:
            raise PushError("bad_index", "index.txt differs from its signed sha256")
        try:
            with open(slotcheck.slot_dir(self.prog["slot"]) + "/" + slotcheck.INDEX, "rb") as f:
                index.check_index(f, p)
        except index.ManifestError as e:
            raise PushError(e.reason, e.detail)
        self.lines = slotcheck.index_lines(self.prog["slot"])
        self.state = "data"
        self._save(files=0)

    def _image(self, done):
        from firmware.ota import image

        part, label = image.target(self.svc.system, self.data_len)
        if self.prog.setdefault("label", label) != label:
            raise PushError("no_partition", "the spare partition changed")
        self.writer = image.Writer(part, done, lambda n: self._save())
        self.writer.rehash()
        self.staged = 0

    def _continue(self):
        """After a power cut: the envelope checked again, the writers reopened where the
        progress says (an image's written blocks re-hashed, an app's next file restarted)."""
        p = self._check()
        self.state = "data"
        base = HEAD + self.env_len + self.idx_len
        if self.prog.get("done"):  # complete before the cut: verified again, then installable
            if self.kind == IMAGE:
                self._image(self.data_len)
            self._finish()
            return
        if self.kind == APP:
            from firmware.ota import prepare

            if prepare.spare() != self.prog.get("slot"):
                raise PushError("no_slot", "the spare slot changed")
            self.lines = slotcheck.index_lines(self.prog["slot"])
            self.done_files = self.prog.get("files", 0)
            for _ in range(self.done_files):
                next(self.lines)
        else:
            self._image(self.pos - base)
        _log.info("OTA push of v=%s resumed at byte %d", p.get("version"), self.pos)

    # ---- the payload
    def _app(self, mv):
        """Bundle bytes into the slot's files in index order; returns how many were taken."""
        b = self.pos - HEAD - self.env_len - self.idx_len  # offset in the bundle
        if self.cur is None:
            try:
                self.cur = next(self.lines)
            except StopIteration:
                return len(mv)  # bytes after the last file
            self._open()
            if self.cur is None:
                return 0  # an empty file: done already
        sha, size, off, path = self.cur
        if b < off:
            return min(len(mv), off - b)  # between two files
        k = min(len(mv), off + size - b)
        self.sink(mv[:k])
        self.written += k
        if self.written == size:
            self._file_done()
        return k

    def _open(self):
        import hashlib

        from firmware.ota import download, slots

        sha, size, off, path = self.cur
        dst = slotcheck.slot_dir(self.prog["slot"]) + "/" + path
        slots.parent_dirs(self.prog["slot"], path)
        slots.remove_file(dst)  # a part written before a power cut starts over
        self.sink = download.FileSink(dst, hashlib.sha256())
        self.written = 0
        if size == 0:
            self._file_done()

    def _file_done(self):
        sha, size, off, path = self.cur
        sink, self.sink = self.sink, None
        sink.close()
        if sink.h.digest() != unhexlify(sha):
            raise PushError("bad_sha256", path)
        self.cur = None
        self.done_files += 1
        self.since += size
        if self.since >= _SAVE:
            self._save(files=self.done_files)

    def _finish(self):
        p = self.payload
        if self.kind == APP:
            err = slotcheck.verify_slot(self.prog["slot"], p["index"]["sha256"])
            if err:
                raise PushError("verify_failed", err)
            self.ready = {"kind": "app", "slot": self.prog["slot"], "pin": p["index"]["sha256"]}
            self._close()
        else:
            if self.staged:
                self.writer.program(self.staged)
                self.staged = 0
            if self.writer.h.digest() != unhexlify(p["image"]["sha256"]):
                raise PushError("bad_sha256", "image")
            self.ready = {"kind": "image", "part": self.writer.part, "label": self.prog["label"]}
        self.state = "done"
        self._save(files=self.done_files, done=True)
        self.svc.emit("Downloaded", p["kind"], p.get("version"), bytes=self.size, via="push")
        _log.info("OTA push of v=%s complete: %d bytes", p.get("version"), self.size)

    def install(self):
        """Hand the complete release to the service (it installs when the policy allows)."""
        if self.state != "done":
            raise PushError("incomplete", "%d of %s bytes" % (self.pos, self.size))
        self._clear()
        if self.claimed:
            self.svc.release()
            self.claimed = False
        p = self.payload
        self.svc.adopt(self.ready, {"counter": p["counter"], "version": p.get("version")}, self.env_hex)
        self.state = "installing"
