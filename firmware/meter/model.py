"""ESME meter model behind the GBCS load-switch and payment-mode use cases, persisted in the
durable store (shared/reference/gbcs.md §7.2-§7.5: ECS42 close, ECS43 open, ECS44 arm, ECS45 read
state, ECS02 → credit, ECS03 → prepayment).

Load switch state machine (DLMS IC 70 disconnect control, GBCS mapping [U]):

    connected    --disconnect()-->  disconnected
    disconnected --arm()-------->   armed            (supply armed; consumer must press the button)
    armed        --button_press()-> connected
    any          --connect()----->  connected        (remote close, ECS42)

    connected    --(engine)----->   disconnected     (prepayment: credit below the disablement
                                                      threshold; `cause` "credit")

control_state (IC 70 attribute 3): disconnected 0, connected 1, armed ("ready for reconnection") 2.
Every change is written to the store before the method returns (one JSON record "meter").
The metering engine (firmware/meter/engine.py, loaded by the application, not with the command
gate) attaches itself as `engine` and interrupts / arms the supply from the prepayment account.
"""
from firmware.alerts import Reject

CONNECTED = "connected"
DISCONNECTED = "disconnected"
ARMED = "armed"
CREDIT = "credit"
PREPAYMENT = "prepayment"

SUPPLY_STATES = (CONNECTED, DISCONNECTED, ARMED)
PAYMENT_MODES = (CREDIT, PREPAYMENT)
CONTROL_STATE = {DISCONNECTED: 0, CONNECTED: 1, ARMED: 2}

_REC = "meter"


class MeterModel:
    """Persisted ESME state: `supply` and `payment_mode` (plus the account configuration written by
    ECS02/ECS03, kept opaque in `account`)."""

    def __init__(self, store):
        self._store = store
        d = store.get_json(_REC, None) or {}
        self.supply = d.get("supply", CONNECTED)
        self.payment_mode = d.get("payment_mode", CREDIT)
        self.account = d.get("account", {})
        self.cause = d.get("cause")  # why the supply is off: "credit" (prepayment) or None
        self.engine = None  # firmware.meter.engine.Engine once the application runs it
        if self.supply not in SUPPLY_STATES or self.payment_mode not in PAYMENT_MODES:
            raise Reject("state", None, "corrupt meter record")

    def _save(self):
        self._store.put_json(_REC, {"supply": self.supply, "payment_mode": self.payment_mode,
                                    "account": self.account, "cause": self.cause})

    @property
    def control_state(self):
        return CONTROL_STATE[self.supply]

    def connect(self):
        self.supply = CONNECTED
        self.cause = None
        self._save()

    def disconnect(self):
        self.supply = DISCONNECTED
        self.cause = None
        self._save()


    def arm(self):
        """Arm the supply for local reconnection. Arming a connected supply leaves it connected
        (nothing to reconnect) [project decision]."""
        if self.supply != CONNECTED:
            self.supply = ARMED
            self._save()

    def button_press(self):
        """Consumer presses the button: armed -> connected; otherwise no change. Returns True when
        the supply was reconnected."""
        if self.supply == ARMED:
            self.supply = CONNECTED
            self.cause = None
            self._save()
            return True
        return False

    def set_payment_mode(self, mode):
        if mode not in PAYMENT_MODES:
            raise Reject("value", None, "payment mode %r" % (mode,))
        self.payment_mode = mode
        self._save()

    def set_account(self, key, value):
        """Record account configuration written by a command (JSON-serialisable value)."""
        self.update({key: value})

    def update(self, account, mode=None):
        """Apply several account changes (a value None removes the key) and optionally a payment
        mode in one store write: a multi-item command such as ECS02/ECS03 is applied whole or, after a
        power cut, not at all (and its peak heap is one JSON record, not one per item)."""
        if mode is not None and mode not in PAYMENT_MODES:
            raise Reject("value", None, "payment mode %r" % (mode,))
        acc = dict(self.account)
        for k in account:
            if account[k] is None:
                acc.pop(k, None)
            else:
                acc[k] = account[k]
        self.account = acc
        if mode is not None:
            self.payment_mode = mode
        self._save()
