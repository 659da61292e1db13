# AT engine: final codes, URCs interleaved, timeouts, garbage, over-long lines, echo, resets.
import asyncio
import gc

from firmware.net.at import At, AtError
from netfakes import FakeStream


class Script:
    """Answers each command line the engine writes with canned bytes."""

    def __init__(self, replies):
        self.replies = replies
        self.seen = []
        self.stream = FakeStream(on_tx=self._tx)
        self._acc = b""

    def _tx(self, data):
        self._acc += data
        while b"\r" in self._acc:
            line, self._acc = self._acc.split(b"\r", 1)
            cmd = line.decode()
            self.seen.append(cmd)
            r = self.replies.get(cmd)
            if r is not None:
                self.stream.feed(r)


def engine(replies, **kw):
    s = Script(replies)
    at = At(s.stream, **kw)
    at.start()
    return at, s


async def expect_error(at, cmd, code, n=None, **kw):
    try:
        await at.cmd(cmd, **kw)
    except AtError as e:
        assert e.code == code, (cmd, e.args)
        assert e.n == n, (cmd, e.args)
        return e
    raise AssertionError("%s: no AtError %s" % (cmd, code))


async def test_every_final_code():
    at, s = engine({
        "AT": b"\r\nOK\r\n",
        "AT+X1": b"\r\nERROR\r\n",
        "AT+CPIN?": b"\r\n+CME ERROR: 10\r\n",
        "AT+CMGS=1": b"\r\n+CMS ERROR: 500\r\n",
        "AT+V": b"\r\n+CME ERROR: SIM not inserted\r\n",
        "ATD*99#": b"\r\nCONNECT 150000000\r\n",
        "ATD*98#": b"\r\nCONNECT\r\n",
        "ATD*97#": b"\r\nNO CARRIER\r\n",
        "ATD1": b"\r\nBUSY\r\n",
        "ATD2": b"\r\nNO DIALTONE\r\n",
        "ATD3": b"\r\nNO ANSWER\r\n",
    })
    assert await at.cmd("AT") == []
    await expect_error(at, "AT+X1", "ERROR")
    await expect_error(at, "AT+CPIN?", "CME", 10)
    await expect_error(at, "AT+CMGS=1", "CMS", 500)
    await expect_error(at, "AT+V", "CME", "SIM not inserted")
    assert await at.cmd("ATD*99#") == ["CONNECT 150000000"]
    assert await at.cmd("ATD*98#") == ["CONNECT"]
    await expect_error(at, "ATD*97#", "NO CARRIER")
    await expect_error(at, "ATD1", "BUSY")
    await expect_error(at, "ATD2", "NO DIALTONE")
    await expect_error(at, "ATD3", "NO ANSWER")
    assert at.unanswered == 0 and at.timeouts == 0
    at.stop()


async def test_urcs_interleaved_with_an_answer_go_to_handlers():
    got = []
    at, s = engine({
        "AT+CSQ": b"\r\n+CEREG: 2\r\n\r\n+CSQ: 20,99\r\nRING\r\n\r\n+QIND: SMS DONE\r\n\r\nOK\r\n",
        "AT+CEREG?": b"\r\n+CEREG: 5\r\n+CEREG: 0,1\r\n\r\nOK\r\n",
    })
    at.on("+CEREG:", got.append)
    at.on("+QIND:", got.append)
    assert await at.cmd("AT+CSQ") == ["+CSQ: 20,99"]
    assert got == ["+CEREG: 2", "+QIND: SMS DONE"]
    # a line with the command's own prefix is the answer, never the handler's
    assert await at.cmd("AT+CEREG?") == ["+CEREG: 5", "+CEREG: 0,1"]
    assert got == ["+CEREG: 2", "+QIND: SMS DONE"]
    # between commands, every URC goes to its handler; NO CARRIER too
    carrier = []
    at.on("NO CARRIER", carrier.append)
    s.stream.feed(b"\r\n+CEREG: 1\r\n\r\nNO CARRIER\r\n")
    await asyncio.sleep_ms(20)
    assert got[-1] == "+CEREG: 1" and carrier == ["NO CARRIER"]
    at.stop()


async def test_no_carrier_ends_only_a_dial_command():
    at, s = engine({"AT+COPS?": b"\r\nNO CARRIER\r\n+COPS: 0,0,\"X\",7\r\n\r\nOK\r\n"})
    carrier = []
    at.on("NO CARRIER", carrier.append)
    assert await at.cmd("AT+COPS?") == ['+COPS: 0,0,"X",7']
    assert carrier == ["NO CARRIER"]
    at.stop()


async def test_silent_modem_times_out_without_blocking_other_tasks():
    at, s = engine({}, timeout_ms=150)
    ticks = [0]

    async def other():
        while True:
            ticks[0] += 1
            await asyncio.sleep_ms(10)

    t = asyncio.create_task(other())
    for i in range(3):
        await expect_error(at, "AT", "TIMEOUT")
    assert at.unanswered == 3 and at.timeouts == 3
    assert ticks[0] >= 20, ticks  # ~45 turns in 450 ms: the loop kept running
    # an answer resets the unanswered count
    s.replies["AT"] = b"\r\nOK\r\n"
    await at.cmd("AT")
    assert at.unanswered == 0
    # a late answer outside any command is counted, not taken for the next one
    s.stream.feed(b"\r\n+CSQ: 1,1\r\n")
    await asyncio.sleep_ms(20)
    assert at.stray == 1
    t.cancel()
    at.stop()


async def test_garbage_and_partial_lines():
    at, s = engine({})
    at.on("+CPIN:", lambda l: None)
    # noise, a line split across many reads, non-ASCII inside a line
    s.stream.feed(b"\x00\xff\xfe\r\n\x80\x81")
    await asyncio.sleep_ms(10)
    task = asyncio.create_task(at.cmd("AT+CGMR"))
    await asyncio.sleep_ms(10)
    for b in b"\r\nEC200U\xffR03\r\n\r\nO":
        s.stream.feed(bytes([b]))
        await asyncio.sleep_ms(1)
    s.stream.feed(b"K\r\n")
    assert await task == ["EC200U?R03"]
    assert at.garbage >= 6
    s.replies["AT"] = b"\x00\x00\r\nOK\r\n"
    assert await at.cmd("AT") == []
    at.stop()


async def test_over_long_lines_are_dropped_in_a_fixed_buffer():
    at, s = engine({})
    await asyncio.sleep_ms(10)
    gc.collect()
    before = gc.mem_alloc()
    junk = b"A" * 200
    for i in range(50):  # 10 KB without a line end
        s.stream.feed(junk)
        await asyncio.sleep_ms(0)
    await asyncio.sleep_ms(20)
    gc.collect()
    assert gc.mem_alloc() - before < 4096, gc.mem_alloc() - before
    s.replies["AT+CSQ"] = b"\r\n+CSQ: " + b"9" * 300 + b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CSQ") == ["+CSQ: 20,99"]
    assert at.overlong >= 2
    at.stop()


async def test_echo_left_on_is_tolerated():
    at, s = engine({
        "AT+CSQ": b"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n",
        "ATE0": b"ATE0\r\r\nOK\r\n",
        "AT": b"AT\r\r\nOK\r\n",
    })
    assert await at.cmd("AT") == []
    assert await at.cmd("AT+CSQ") == ["+CSQ: 20,99"]
    assert await at.cmd("ATE0") == []
    at.stop()


async def test_modem_reset_mid_command_ends_it_at_once():
    at, s = engine({"AT+COPS?": b"\r\n\x00\xffRDY\r\n"}, timeout_ms=5000)
    resets = []
    at.on("RDY", resets.append)
    e = await expect_error(at, "AT+COPS?", "RESET")
    assert resets == ["RDY"]
    assert at.timeouts == 0  # ended by the URC, not by the 5 s timeout
    s.replies["AT"] = b"\r\nOK\r\n"
    await at.cmd("AT")
    at.stop()


async def test_one_command_in_flight():
    at, s = engine({})
    t1 = asyncio.create_task(at.cmd("AT+CSQ"))
    t2 = asyncio.create_task(at.cmd("AT+CREG?"))
    await asyncio.sleep_ms(30)
    assert s.seen == ["AT+CSQ"]  # the second waits for the first's final code
    s.stream.feed(b"\r\n+CSQ: 3,99\r\n\r\nOK\r\n")
    assert await t1 == ["+CSQ: 3,99"]
    await asyncio.sleep_ms(10)
    assert s.seen == ["AT+CSQ", "AT+CREG?"]
    s.stream.feed(b"\r\n+CREG: 0,1\r\nOK\r\n")
    assert await t2 == ["+CREG: 0,1"]
    at.stop()


async def test_stopped_engine_refuses_and_ends_the_command_in_flight():
    at, s = engine({}, timeout_ms=5000)
    t = asyncio.create_task(at.cmd("ATD*99#"))
    await asyncio.sleep_ms(10)
    at.stop()
    try:
        await t
        raise AssertionError("no error")
    except AtError as e:
        assert e.code == "CLOSED"
    await expect_error(at, "AT", "CLOSED")
