"""The sim board's console through real mpremote: exec, the littlefs root, file copy,
Ctrl-C into main.py, soft reset (Ctrl-D) running boot.py and main.py again."""
import hashlib
import os
import socket
import struct

from simkit import board, mpremote
from upile.sim.console import Console
from upile.sim.ioloop import IOLoop


def test_mpremote_exec_runs_code_on_the_chip():
    with board() as b:
        r = mpremote(b.console_port, "exec", "import sys; print('on', sys.platform, sys.path)")
        assert r.returncode == 0, r.stderr
        assert "on linux ['', '.frozen', '/lib']" in r.stdout


def test_fs_ls_shows_the_littlefs_root_only(tmp_path):
    with board(files={"/lib/x.py": b"X = 1\n"}) as b:
        r = mpremote(b.console_port, "fs", "ls", "/")
        assert r.returncode == 0, r.stderr
        names = sorted(line.split()[-1] for line in r.stdout.splitlines()[1:] if line.strip())
        assert names == ["boot.py", "boots", "lib/", "main.py"]


def test_copied_file_reads_back_with_same_sha256(tmp_path):
    data = os.urandom(50000)
    src = tmp_path / "blob.bin"
    src.write_bytes(data)
    with board() as b:
        r = mpremote(b.console_port, "fs", "cp", str(src), ":/blob.bin")
        assert r.returncode == 0, r.stderr
        r = mpremote(b.console_port, "fs", "sha256sum", ":/blob.bin")
        assert r.returncode == 0, r.stderr
        assert hashlib.sha256(data).hexdigest() in r.stdout
        # the bytes are in the flash image itself, not somewhere on the host
        b.power_cut()
        assert b.read_files(["/blob.bin"])["/blob.bin"] == data


def test_ctrl_c_interrupts_main_into_the_repl():
    with board() as b:
        mark = b.console_mark()
        with socket.create_connection(("127.0.0.1", b.console_port), timeout=5) as s:
            s.sendall(b"\x03")
            b.wait_console(r"KeyboardInterrupt", since=mark)
            b.wait_console(r">>> $", since=mark)
            s.sendall(b"print(6 * 7)\r")
            b.wait_console(r"\r\n42\r\n", since=mark)
        assert b.reset_cause == 1  # interrupted, not restarted


SLOW_TO_STOP = b"""
import time
print('busy')
try:
    while True:
        time.sleep_ms(5)
except KeyboardInterrupt:
    time.sleep_ms(400)  # cleanup after Ctrl-C (a loaded host is as slow to reach the REPL)
    raise
"""


def test_mpremote_gets_in_when_main_takes_time_to_stop():
    # mpremote sends Ctrl-C then at once Ctrl-A; the Ctrl-A must not be lost while
    # main.py is still unwinding (a board's UART keeps typed bytes)
    with board(main=SLOW_TO_STOP) as b:
        b.wait_console("busy")
        r = mpremote(b.console_port, "resume", "exec", "print(6 * 7)")
        assert r.returncode == 0, r.stderr
        assert "42" in r.stdout


CHATTY = b"""
import time
print('chatty')
while True:
    print('x' * 60)
    time.sleep_ms(2)
"""


def test_bytes_typed_just_before_the_client_hangs_up_still_reach_the_chip():
    # `upile status` ends with Ctrl-B then Ctrl-D and closes at once, never reading the
    # banner the chip prints meanwhile; the bridge's next send to it fails (reset), and
    # what the client typed before must not go down with it
    with board(main=CHATTY) as b:
        b.wait_console("chatty")
        for _ in range(10):
            mark = b.console_mark()
            s = socket.create_connection(("127.0.0.1", b.console_port))
            b.wait_console("x" * 60, since=b.console_mark())  # output flows to us, unread
            s.sendall(b"\x03")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()  # a reset right behind the byte
            b.wait_console(r"KeyboardInterrupt(.|\r|\n)*>>> $", since=mark)
            mark = b.console_mark()
            b.console.loop.call(b.console.to_chip, b"\x04")
            b.wait_console("chatty", since=mark)


def test_ctrl_d_at_the_repl_soft_resets_and_runs_boot_and_main_again():
    with board() as b:
        b.wait_console("boot.py run 1")
        with socket.create_connection(("127.0.0.1", b.console_port), timeout=5) as s:
            mark = b.console_mark()
            s.sendall(b"\x03")
            b.wait_console(r">>> $", since=mark)
            mark = b.console_mark()
            s.sendall(b"\x04")
            m = b.wait_console(r"MPY: soft reboot\r\n(.|\r|\n)*boot.py run 2(.|\r|\n)*main.py running", since=mark)
            assert m
        assert b.reset_cause == 5
        assert b.exec("import machine; print(machine.reset_cause())").strip() == "5"


def test_mpremote_soft_reset_reboots_into_the_raw_repl_running_boot_py():
    with board() as b:
        b.wait_console("boot.py run 1")
        r = mpremote(b.console_port, "soft-reset", "exec", "print(open('/boots').read())")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip().endswith("2")
        text = b.console_text()
        assert "MPY: soft reboot" in text
        # as on a board, a soft reset from the raw REPL does not start main.py
        assert text.count("main.py running") == 1


def test_console_log_keeps_what_the_chip_printed():
    with board() as b:
        b.exec("print('logged line')")
        # the bridge writes the log (unbuffered) before exec can see the output
        log = (b.workdir / "console.log").read_bytes()
        assert b"main.py running" in log and b"logged line" in log


def test_ctrl_cs_typed_together_go_over_as_one_interrupt(tmp_path):
    # a board's UART interrupt sees "\x03\x03" in one FIFO read: one KeyboardInterrupt
    loop = IOLoop()
    console = Console(loop, tmp_path / "console.log")
    r, w = os.pipe()
    try:
        loop.call(console.attach, w)  # no chip process: every instant is safe
        loop.call(console.release)
        loop.call(console.to_chip, b"\r\x03\x03\x03\x01x\x03")
        assert os.read(r, 100) == b"\r\x03\x01x\x03"
    finally:
        loop.call(console.detach)
        console.close()
        loop.close()
        os.close(r)
        os.close(w)
