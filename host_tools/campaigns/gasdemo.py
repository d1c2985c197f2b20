"""The gas part of the demo (docs/gas.md "End to end"): a gas premises in this process
(host_tools/gbcs/gas_premises.py han_premises: the hub's WAN endpoint on loopback TCP and its router
with the GPF beside the CHF, the RTDS GSME joined over the HAN stack on an in-memory medium, a virtual
clock), narrated as demo steps:
  * the GSME joins the hub (CBKE, TC link key) and reports to its mirror at its first wake;
  * a GPF read (GCS13a to the GPF) over the WAN is answered at once from the mirror;
  * the valve close (RTDS GCS32, KRP-signed) sent over the WAN waits at the hub while the GSME
    sleeps, is fetched at its next wake (30 min of virtual time on) over the HAN, and its signed
    response comes back on the WAN connection (verified);
  * a £10.00 UTRN top-up at the GSME's keypad; the GPF's mirror shows the new credit after the wake.

    add_steps(demo, workdir)        # demo: host_tools/campaigns/demo.py Demo (its step())
    add_board_steps(demo, workdir)  # the same story on virtual boards (what `make demo` runs)
"""
import os
import socket
import struct
import time


def recv_response(sock, pump, polls=4000):
    """The next response (or 2-byte refusal) on a WAN connection, calling pump() between reads;
    the hub's alerts skipped; None after `polls` tries."""
    from firmware.gbcs import frame

    buf = b""
    sock.setblocking(False)
    for _ in range(polls):
        pump()
        try:
            buf += sock.recv(65536)
        except BlockingIOError:
            pass
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
            n = struct.unpack(">H", buf[:2])[0]
            msg, buf = buf[2:2 + n], buf[2 + n:]
            if n == 2 or frame.parse(msg).cra != frame.CRA_ALERT:
                return msg
    return None


def add_steps(demo, workdir):
    """Run the gas steps through demo.step(label, title, fn); returns True when all passed."""
    from host_tools.gbcs import corpus as C

    if not C.available():
        demo.say("\n-- gas: skipped (../shared RTDS corpus and keystore not present)")
        return True
    from firmware.gas import gpf as G
    from firmware.gas import life
    from firmware.gas.sleepy import PortLink, wake
    from firmware.gbcs import frame
    from host_tools.codes import utrn
    from host_tools.gbcs import runner
    from host_tools.gbcs.gas_premises import GPF, GSME, HUB, han_premises, remac, rtds_command
    from host_tools.gbcs.gpf_rtds import GpfRole
    from host_tools.gbcs.gsme_rtds import GsmeRole

    keys = C.Keystore(C.KEYSTORE)
    p = han_premises(os.path.join(workdir, "gas"), keys)
    pump = p["pump"]
    st = {}
    ok_all = True

    def join():
        for _ in range(4000):
            pump()
            if p["dp"].joined(HUB):
                break
        if not p["dp"].joined(HUB):
            return False, "the GSME did not join"
        wake(p["gsme"], PortLink(p["dp"], HUB, pump, p["ms"]))
        st["sock"] = socket.create_connection(p["ep"].sock.getsockname()[:2])
        return p["gpf"].gas.st["mt"][0] == p["gsme"].now(), \
            "GSME %s joined the hub (CBKE over the HAN) and reported to its mirror on the GPF" % GSME.hex().upper()
    ok_all &= demo.step("gas: GSME joins, mirror", "the RTDS gas meter joins the hub over the HAN and, at its "
                        "first wake, reports its data to its mirror on the Gas Proxy Function", join)

    def gpf_read():
        raw = remac(keys, "GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_COMMAND_GBCS.HEX", 7000, keys.device_pub(GPF, "ka"))
        st["sock"].sendall(struct.pack(">H", len(raw)) + raw)
        rsp = recv_response(st["sock"], pump)
        m = frame.parse(raw)
        ok, why, _, _ = runner.judge(m, rsp, GPF, GpfRole().ds_pub(), keys.device_pub(GPF, "ka"),
                                     keys.parties[m.originator].priv["ka"])
        return ok, "GCS13a to the GPF answered at once from the mirror, MAC verified%s" % ("" if ok else ": " + why)
    ok_all &= demo.step("gas: GPF read at once", "read the gas register from the GPF over the WAN (the meter "
                        "sleeps: the GPF answers from its mirror)", gpf_read)

    def close():
        f, m = rtds_command("GCS32_7.2_SUCCESS_COMMAND_GBCS.HEX")
        raw = C.load_hex(f)
        sock = st["sock"]
        sock.sendall(struct.pack(">H", len(raw)) + raw)
        if recv_response(sock, pump, polls=200) is not None or not G.pending(p["gpf"]):
            return False, "the command was not held for the sleeping GSME"
        p["board"].t += 1800  # 30 min of virtual time: the GSME's next wake
        if not p["gsme"].poll():
            return False, "no wake due"
        got, put = wake(p["gsme"], PortLink(p["dp"], HUB, pump, p["ms"]))
        rsp = recv_response(sock, pump)
        ok, why, _, _ = runner.judge(m, rsp, GSME, GsmeRole().ds_pub(), keys.device_pub(GSME, "ka"),
                                     keys.parties[m.originator].priv["ka"])
        ok = ok and p["gsme"].gas.supply() == 0 and p["gpf"].gas.supply() == 0
        return ok, "GCS32 held at the GPF (tunnel message pending); at the GSME's wake 30 min later it was " \
                   "fetched over the HAN (%d fetched, %d answered), the valve closed, the signed response " \
                   "verified on the WAN; the mirror shows the valve closed%s" % (got, put, "" if ok else ": " + why)
    ok_all &= demo.step("gas: valve close via WAN", "close the gas valve over the WAN: it waits at the hub until "
                        "the sleepy GSME wakes and fetches it through ZSE tunnelling", close)

    def topup():
        from cryptography.hazmat.primitives.asymmetric import ec

        gsme = p["gsme"]
        sup = bytes.fromhex("90b3d51f30010000")
        pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keys.device_pub(GSME, "ka"))
        z = keys.parties[sup].priv["pp-ka"].exchange(ec.ECDH(), pub)
        before = gsme.gas.credit()
        code = utrn.topup(z, sup, GSME, 500, 1000)
        took = life.keypad(gsme, code)
        p["board"].t += 1800
        gsme.poll()
        wake(gsme, PortLink(p["dp"], HUB, pump, p["ms"]))
        ok = took == 1000 * 1000 and gsme.gas.credit() == before + took and p["gpf"].gas.credit() == gsme.gas.credit()
        return ok, "UTRN %s at the GSME's keypad: credit +£%.2f; after the next wake the GPF's mirror shows " \
                   "£%.2f" % (code, took / 1e5, p["gpf"].gas.credit() / 1e5)
    ok_all &= demo.step("gas: UTRN top-up", "a consumer tops up £10.00 at the gas meter's keypad", topup)
    s = st.get("sock")
    if s is not None:
        s.close()
    p["ep"].close()
    return ok_all


def add_board_steps(demo, workdir):
    """The gas steps on virtual boards (host_tools/boards/gaspremises.py: the RTDS hub carrying the
    GPF on one board, the RTDS GSME on another, one ZEP air), through demo.step; True when all passed.
    The command for the GSME goes over the hub's WAN endpoint, waits at the hub while the GSME sleeps,
    and comes back when both boards' clocks are moved 30 min on (the GSME's next wake)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from host_tools.gbcs import corpus as C

    if not C.available():
        demo.say("\n-- gas: skipped (../shared RTDS corpus and keystore not present)")
        return True
    from firmware.gbcs import frame
    from host_tools.boards.gaspremises import GPF, GSME, SUPPLIER, GasPremises
    from host_tools.codes import utrn
    from host_tools.gbcs import hub as H
    from host_tools.gbcs import runner
    from host_tools.gbcs.gas_premises import remac, rtds_command
    from host_tools.gbcs.gpf_rtds import GpfRole
    from host_tools.gbcs.gsme_rtds import GsmeRole

    p = GasPremises(os.path.join(workdir, "gas"), hub_heap="1024K")
    keys = p.keys
    st = {}
    ok_all = True
    try:
        def up():
            p.start()
            p.flash()
            p.provision()
            st["c"] = H.WanClient(p.wan[0], p.wan[1], timeout=30)
            ok, why = p.log_gsme(st["c"])
            if not ok:
                return False, "CCS01: " + why
            off = p.gsme.log_size()
            p.provision_gsme()
            if not p.wait_console(p.gsme, "gsme wake 1", off, 30):
                return False, "the GSME did not join and wake"
            return True, "hub %s with GPF %s (heap %s), GSME %s (heap %s) on one air; CCS01 over the WAN " \
                "logged the GSME, it joined by CBKE and reported to its mirror at its first wake" % (
                    p.hub.eui64.upper(), GPF.hex().upper(), p.hub.heap, GSME.hex().upper(), p.gsme.heap)
        ok_all &= demo.step("gas: boards up, mirror", "gas on virtual boards: the RTDS hub carrying the Gas Proxy "
                            "Function, the RTDS gas meter (sleepy) on the same HAN; it joins and reports", up)

        def gpf_read():
            raw = remac(keys, "GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_COMMAND_GBCS.HEX", p.next_counter(),
                        keys.device_pub(GPF, "ka"))
            t0 = time.monotonic()
            rsp = st["c"].request(raw)
            dt = (time.monotonic() - t0) * 1000
            m = frame.parse(raw)
            ok, why, _, _ = runner.judge(m, rsp, GPF, GpfRole().ds_pub(), keys.device_pub(GPF, "ka"),
                                         keys.parties[m.originator].priv["ka"])
            return ok, "GCS13a to the GPF answered from the mirror in %.0f ms, MAC verified%s" % (
                dt, "" if ok else ": " + why)
        ok_all &= demo.step("gas: GPF read at once", "read the gas register from the GPF over the WAN (the meter "
                            "sleeps: the GPF answers from its mirror)", gpf_read)

        def close():
            f, m = rtds_command("GCS32_7.2_SUCCESS_COMMAND_GBCS.HEX")
            c = st["c"]
            c.send(C.load_hex(f))
            try:
                c.frame(1.0)
                return False, "answered while the GSME sleeps"
            except TimeoutError:
                pass
            off = p.gsme.log_size()
            p.advance(1800)
            t0 = time.monotonic()
            rsp = c.frame(20)
            dt = time.monotonic() - t0
            ok, why, _, _ = runner.judge(m, rsp, GSME, GsmeRole().ds_pub(), keys.device_pub(GSME, "ka"),
                                         keys.parties[m.originator].priv["ka"])
            woke = p.wait_console(p.gsme, "gsme wake 2: fetched 1, answered 1", off, 5)
            return ok and woke, "GCS32 held at the hub (no answer for 1 s); clocks 30 min on: the GSME woke, " \
                "fetched it over the HAN tunnel, closed the valve; signed response on the WAN %.2f s later, " \
                "signature verified%s" % (dt, "" if ok else ": " + why)
        ok_all &= demo.step("gas: valve close via WAN", "close the gas valve over the WAN: it waits at the hub until "
                            "the sleepy GSME wakes and fetches it through ZSE tunnelling", close)

        def topup():
            pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keys.device_pub(GSME, "ka"))
            z = keys.parties[SUPPLIER].priv["pp-ka"].exchange(ec.ECDH(), pub)
            code = utrn.topup(z, SUPPLIER, GSME, 500, 1000)
            shown = p.gsme.type_keys(code + "#", 20)
            off = p.gsme.log_size()
            p.advance(1800)
            woke = p.wait_console(p.gsme, "gsme wake 3", off, 10)
            ok = any("ACCEPTED" in ln for ln in shown) and woke
            return ok, "UTRN %s at the gas meter's keypad: %s; reported to the mirror at the next wake" % (
                code, "; ".join(shown))
        ok_all &= demo.step("gas: UTRN top-up", "a consumer tops up £10.00 at the gas meter's keypad", topup)
    finally:
        if st.get("c") is not None:
            st["c"].close()
        p.stop()
    return ok_all
