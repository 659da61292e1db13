"""One port's control step, called by Pile.step for every port every period: a new meter
reading (energy credited from the session's baseline, glitches refused, the meter_silent
fault's clearing), the per-reading protections, the weld and readback checks on a port whose
relay is open, and the session's accounting and stop conditions. Kept apart from pile.py,
which owns the commands, the journal and the pile-wide rules."""
import time

import log
from firmware.charging import port as P
from firmware.charging.protect import reading_trip, volt_bad
from firmware.charging.session import OTHER

_log = log.get("charging")
_diff = time.ticks_diff
_add = time.ticks_add


def reading(pile, p, ch, now):
    """Take channel ch's new reading into port p: returns the mWh to credit."""
    p.seq = ch.seq
    p.t_read = now
    p.p_w = ch.p_mw // 1000
    p.i_ma = ch.i_ma
    p.v_dv = ch.v_mv // 100
    va = ch.v_mv * ch.i_ma // 1000  # apparent power, mW
    p.pf = min(1000, ch.p_mw * 1000 // va) if va > 0 and ch.p_mw > 0 else None
    e = ch.energy_mwh()
    d = 0
    if p.e_last is None:
        if p.session is not None and not pile._after(p.num - 1, p.t_relay):
            return 0  # measured before the relay closed: not this session's baseline
    elif e > p.e_last:
        d = e - p.e_last
        # a meter counts no more than the port's over-power limit allows since its last
        # reading (a second of slack for a late one): more is a glitch (a stray frame, a
        # chip that restarted), rebased and never billed
        if d > pile.c["overpower_w"] * (_diff(now, p.t_e) + 1000) // 1800:
            pile.glitches += 1
            _log.warn("port %d: meter jumped %d mWh in %d ms: not counted", p.num, d, _diff(now, p.t_e))
            d = 0
    p.e_last = e
    p.t_e = now
    p.reg_mwh += d
    if p.fault == "meter_silent":
        if p.ok_since is None:
            p.ok_since = now
        elif _diff(now, p.ok_since) >= pile.c["fault_clear_s"] * 1000:
            pile._clear(p, "meter_silent")
    return d

def step(pile, p, now, dt):
    c = pile.c
    i = p.num - 1
    ch = pile.board.channel(i)
    d = 0
    if ch.seq != p.seq:
        d = reading(pile, p, ch, now)
        if p.relay:
            why = reading_trip(c, p.p_w, p.i_ma)
            if why:
                if p.session:
                    pile._stop(p, OTHER, why)
                else:
                    pile._relay(p, False)
                return
        elif pile._after(i, _add(p.t_relay, c["relay_release_ms"])):
            # energy through an open relay: welded contacts (docs/charging.md). Judged
            # on readings measured after the relay's release time, by the energy counter
            # (a power register can hold its last value for seconds after the load is
            # gone), over weld_readings readings in a row after a first one that only
            # sets the base (its energy delta may reach back before the release)
            if p.weld_n < 0:
                p.weld_n = 0
            elif p.p_w > c["off_power_w"] and d > 0:
                p.weld_n += 1
                if p.weld_n >= c["weld_readings"]:
                    pile._fault(p, "relay_welded")
                    return
            elif p.p_w <= c["off_power_w"]:
                p.weld_n = 0
    elif _diff(now, p.t_read) > c["meter_timeout_ms"]:
        p.p_w = 0
        pile._fault(p, "meter_silent")
    rb = pile.board.readback(i)
    if rb is not None and rb != p.relay:
        p.mismatch_ms += dt
        if p.mismatch_ms >= c["relay_check_ms"]:
            pile._fault(p, "relay_readback")
            return
    else:
        p.mismatch_ms = 0
    s = p.session
    if s is None:
        if p.status == P.FINISHING:
            p.set(p.idle_status())
        return
    st = p.status
    if st == P.SUSPENDED_EVSE or st == P.PREPARING:
        s.account(dt, d, False)
        if st == P.PREPARING:
            s.wait_ms += dt
            # load only from a reading measured after the relay closed (e_last set): the
            # last session's power can still be the newest reading for a mux round or two
            if p.p_w >= c["noload_w"] and p.e_last is not None:
                s.seen_load = True
                p.set(P.CHARGING, "load")
            elif s.wait_ms >= (c["resume_load_s"] if s.resumed else c["noload_s"]) * 1000:
                pile._stop(p, OTHER, "no_load")
        return
    s.account(dt, d, True)
    s.track_power(p.p_w, dt)
    r = s.check(c, p.p_w, dt)
    if r is None and not s.budget_left():
        r = (OTHER, "budget")
    if r is None and s.active_ms >= c["max_session_s"] * 1000:
        r = (OTHER, "max_time")
    if r is None:
        if volt_bad(c, p.v_dv):
            s.volt_ms += dt
            if s.volt_ms >= c["volt_s"] * 1000:
                r = (OTHER, "voltage")
        else:
            s.volt_ms = 0
    if r:
        pile._stop(p, r[0], r[1])
    elif s.float_ms >= 0 and st == P.CHARGING:
        p.set(P.SUSPENDED_EV, "full")
