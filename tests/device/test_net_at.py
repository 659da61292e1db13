# AT engine: final codes, URCs interleaved, timeouts, garbage, over-long lines, echo, resets,
# resync after a timeout. Virtual time (netfakes.FakeClock): no test waits on the wall clock.
import asyncio
import gc

from firmware.net.at import At, AtError
from netfakes import FakeClock, FakeStream

CLK = FakeClock()


class Script:
    """Answers each command line the engine writes with canned bytes."""

    def __init__(self, replies):
        self.replies = replies
        self.s8 = 2
        self.silent = False  # True: not even the resync's ATS8 is answered
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
            if r is None and cmd.startswith("ATS8") and not self.silent:  # the resync's register, as a module has it
                if cmd == "ATS8?":
                    r = b"\r\n%03d\r\n\r\nOK\r\n" % self.s8
                else:
                    self.s8 = int(cmd[5:])
                    r = b"\r\nOK\r\n"
            if r is not None:
                self.stream.feed(r)


def engine(replies, **kw):
    s = Script(replies)
    at = At(s.stream, clock=CLK, **kw)
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
    await expect_error(at, "AT+V", "CME", 10)  # AT+CMEE=2 text: the number it stands for
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
    await CLK.sleep_ms(20)
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
    s.silent = True
    ticks = [0]

    async def other():
        while True:
            ticks[0] += 1
            await CLK.sleep_ms(10)

    t = asyncio.create_task(other())
    for i in range(3):
        await expect_error(at, "AT", "TIMEOUT")
    assert at.unanswered == 3 and at.timeouts == 3
    assert ticks[0] >= 20, ticks  # ~45 turns in 450 ms: the loop kept running
    # an answer resets the unanswered count
    s.replies["AT"] = b"\r\nOK\r\n"
    s.silent = False
    await at.cmd("AT")
    assert at.unanswered == 0
    # a late final code outside any command is counted, not taken for the next one
    n = at.stray
    s.stream.feed(b"\r\nOK\r\n")
    await CLK.sleep_ms(20)
    assert at.stray == n + 1
    t.cancel()
    at.stop()


async def test_garbage_and_partial_lines():
    at, s = engine({})
    at.on("+CPIN:", lambda l: None)
    # noise, a line split across many reads, non-ASCII inside a line
    s.stream.feed(b"\x00\xff\xfe\r\n\x80\x81")
    await CLK.sleep_ms(10)
    task = asyncio.create_task(at.cmd("AT+CGMR"))
    await CLK.sleep_ms(10)
    for b in b"\r\nEC200U\xffR03\r\n\r\nO":
        s.stream.feed(bytes([b]))
        await CLK.sleep_ms(1)
    s.stream.feed(b"K\r\n")
    assert await task == ["EC200U?R03"]
    assert at.garbage >= 6
    s.replies["AT"] = b"\x00\x00\r\nOK\r\n"
    assert await at.cmd("AT") == []
    at.stop()


async def test_over_long_lines_are_dropped_in_a_fixed_buffer():
    at, s = engine({})
    await CLK.sleep_ms(10)
    gc.collect()
    before = gc.mem_alloc()
    junk = b"A" * 200
    for i in range(50):  # 10 KB without a line end
        s.stream.feed(junk)
        await CLK.sleep_ms(0)
    await CLK.sleep_ms(20)
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
    await CLK.sleep_ms(30)
    assert s.seen == ["AT+CSQ"]  # the second waits for the first's final code
    s.stream.feed(b"\r\n+CSQ: 3,99\r\n\r\nOK\r\n")
    assert await t1 == ["+CSQ: 3,99"]
    await CLK.sleep_ms(10)
    assert s.seen == ["AT+CSQ", "AT+CREG?"]
    s.stream.feed(b"\r\n+CREG: 0,1\r\nOK\r\n")
    assert await t2 == ["+CREG: 0,1"]
    at.stop()


async def test_stopped_engine_refuses_and_ends_the_command_in_flight():
    at, s = engine({}, timeout_ms=5000)
    t = asyncio.create_task(at.cmd("ATD*99#"))
    await CLK.sleep_ms(10)
    at.stop()
    try:
        await t
        raise AssertionError("no error")
    except AtError as e:
        assert e.code == "CLOSED"
    await expect_error(at, "AT", "CLOSED")


async def test_urc_shaped_lines_are_never_a_bare_answer():
    # an IMEI, revision or ICCID asked with a bare answer: vendor URCs land in the middle
    mid = b'\r\n+QIND: "csq",20,99\r\n\r\n^MODE: 17,17\r\n\r\n+CPSI: LTE,Online\r\n\r\n+XYZ: 1\r\n\r\nSMS DONE\r\n'
    at, s = engine({
        "AT+CGSN": mid + b"\r\n861234567890123\r\n" + mid + b"\r\nOK\r\n",
        "AT+CGMR": mid + b"\r\n+CGMR: EC200UCNAAR03A05M08\r\n\r\nOK\r\n",
        "AT+CCID": b"\r\n+E_UTRAN Service\r\n\r\n898604A1192270012345\r\n\r\nOK\r\n",
    })
    got = []
    at.on("+CPSI:", got.append)
    assert await at.cmd("AT+CGSN", prefix=("+CGSN:", "")) == ["861234567890123"]
    assert await at.cmd("AT+CGMR", prefix=("+CGMR:", "")) == ["+CGMR: EC200UCNAAR03A05M08"]
    assert await at.cmd("AT+CCID", prefix=("+CCID:", "")) == ["898604A1192270012345"]
    assert got == ["+CPSI: LTE,Online"] * 3
    assert at.urcs == 3 * 5 + 1 and at.stray == 0
    # a prefixed command takes only its own lines: stray bare text is counted, not kept
    s.replies["AT+CSQ"] = b"\r\nfoo bar\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CSQ", prefix="+CSQ:") == ["+CSQ: 20,99"]
    assert at.stray == 1
    at.stop()


async def test_verbose_and_numeric_cme_errors_are_the_same():
    cases = {"SIM not inserted": 10, "SIM PIN required": 11, "SIM PUK required": 12,
             "SIM failure": 13, "SIM busy": 14, "incorrect password": 16,
             "no network service": 30, "incorrect parameters": 50,
             "operation not allowed": 3, "operation not supported": 4,
             "Network not allowed - Emergency calls only": 32, "unknown": 100}
    replies = {}
    for i, txt in enumerate(cases):
        replies["AT+T%d" % i] = b"\r\n+CME ERROR: " + txt.encode() + b"\r\n"
        replies["AT+N%d" % i] = b"\r\n+CME ERROR: %d\r\n" % cases[txt]
    replies["AT+Z"] = b"\r\n+CME ERROR: vendor says no\r\n"
    at, s = engine(replies)
    for i, txt in enumerate(cases):
        await expect_error(at, "AT+T%d" % i, "CME", cases[txt])
        await expect_error(at, "AT+N%d" % i, "CME", cases[txt])
    await expect_error(at, "AT+Z", "CME", "vendor says no")  # unknown text stays text
    at.stop()


class LateScript(Script):
    """Answers AT+SLOW only after the engine gave up on it; S8 like a module."""

    def __init__(self, replies):
        super().__init__(replies)
        self.s8 = 2
        self.pending = []

    def _tx(self, data):
        self._acc += data
        while b"\r" in self._acc:
            line, self._acc = self._acc.split(b"\r", 1)
            cmd = line.decode()
            self.seen.append(cmd)
            if cmd == "AT+SLOW":
                self.pending.append(b"\r\n+SLOW: 1\r\n\r\nOK\r\n")  # sent later by the test
            elif cmd.startswith("ATS8="):
                self.s8 = int(cmd[5:])
                self._out(b"\r\nOK\r\n")
            elif cmd == "ATS8?":
                self._out(b"\r\n%03d\r\n\r\nOK\r\n" % self.s8)
            elif cmd in self.replies:
                self._out(self.replies[cmd])

    def _out(self, b):
        # a module answers in command order: a late answer still pending goes out first
        while self.pending:
            self.stream.feed(self.pending.pop(0))
        self.stream.feed(b)


async def test_a_late_ok_after_a_timeout_never_answers_the_next_command():
    s = LateScript({"AT+CSQ": b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n", "AT+CPIN?": b"\r\n+CME ERROR: 10\r\n"})
    at = At(s.stream, 200, clock=CLK)
    at.start()
    await expect_error(at, "AT+SLOW", "TIMEOUT")
    assert not at.synced
    # the late "+SLOW: 1 / OK" comes out right before the next answer: without the resync
    # AT+CPIN? would take that OK and report a SIM that is missing as fine
    await expect_error(at, "AT+CPIN?", "CME", 10)
    assert s.seen[-3:] == ["ATS8=11", "ATS8?", "AT+CPIN?"] and at.synced and at.resyncs == 1
    assert at.late + at.stray >= 1
    assert await at.cmd("AT+CSQ") == ["+CSQ: 20,99"]
    # two timeouts in a row: the late answers go before the nonce, the final after it counts
    await expect_error(at, "AT+SLOW", "TIMEOUT")
    s.stream.feed(s.pending.pop(0))
    await CLK.sleep_ms(10)
    await expect_error(at, "AT+SLOW", "TIMEOUT")
    assert await at.cmd("AT+CSQ") == ["+CSQ: 20,99"]
    assert s.seen[-3:] == ["ATS8=13", "ATS8?", "AT+CSQ"]  # a new nonce each time
    at.stop()


async def test_resync_on_a_module_that_rebooted_is_not_needed():
    at, s = engine({"AT": b"\r\nOK\r\n"}, timeout_ms=100)
    await expect_error(at, "AT+SLOW", "TIMEOUT")
    assert not at.synced
    s.stream.feed(b"\r\nRDY\r\n")  # it rebooted: nothing asked before can be answered now
    await CLK.sleep_ms(5)
    assert at.synced
    assert await at.cmd("AT") == [] and s.seen[-1] == "AT" and at.resyncs == 0
    at.stop()
