"""The device's signed checkpoint, read from the MQTT broker and checked independently.

The device publishes, retained, {seq, hash, t, dev, dropped, sig} after each batch of
records: the newest record's seq and hash, signed with the device key over the canonical
JSON of the other fields. Checked here with the `cryptography` package (never the
firmware's own Ed25519), it is a reference `doorstep verify --checkpoint` holds a pulled
log to: the log must still reach that seq with that hash, or its tail was cut or rewritten.

A checkpoint has exactly these six fields, and a record always has "ev" and "prev": one can
never be taken for the other, although the same key signs both.
"""

import json
import time

from doorstep_tools.verify_format import checkpoint_problem, device_id


class CheckpointError(Exception):
    """The checkpoint is missing, malformed, from another device, or its signature fails."""


def check(cp, pub):
    """The verified checkpoint (a dict with seq, hash, t, dev, dropped) or CheckpointError.

    pub: the device's pinned raw public key (32 bytes). The checks are the standalone
    verifier's (bundle_verify), so a bundle's verify_bundle.py checks a checkpoint file alike."""
    why = checkpoint_problem(cp, pub)
    if why:
        raise CheckpointError(why)
    return {k: v for k, v in cp.items() if k != "sig"}


def parse(data, pub):
    """check() for the raw bytes of a checkpoint message."""
    try:
        cp = json.loads(data)
    except (ValueError, RecursionError):
        raise CheckpointError("the checkpoint message is not JSON")
    return check(cp, pub)


def topic_for(pub, prefix=None):
    """Where the device publishes it: <topic_prefix>/checkpoint (default prefix doorstep/<dev>)."""
    return "%s/checkpoint" % (prefix or "doorstep/" + device_id(pub))


def fetch(host, port, user, password, topic, tls=False, cafile=None, timeout=5.0):
    """The retained message on topic (bytes), read with paho-mqtt; CheckpointError if none."""
    import paho.mqtt.client as mqtt

    got, subscribed, connack = [], [], []
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
    if user:
        c.username_pw_set(user, password)
    if tls:
        c.tls_set(ca_certs=cafile)
    c.on_connect = lambda cl, u, flags, reason, props: connack.append(reason)
    c.on_subscribe = lambda cl, u, mid, reasons, props: subscribed.append(time.monotonic())
    c.on_message = lambda cl, u, msg: got.append(msg.payload) if msg.retain else None
    try:
        c.connect(host, port, 30)
    except OSError as e:
        raise CheckpointError("cannot reach the MQTT broker %s:%d (%s)" % (host, port, e))
    try:
        deadline = time.monotonic() + timeout
        while not connack and time.monotonic() < deadline:
            c.loop(0.05)
        if not connack:
            raise CheckpointError("the MQTT broker %s:%d did not answer" % (host, port))
        if connack[0].is_failure:
            raise CheckpointError("the MQTT broker refused the login (%s)" % connack[0])
        c.subscribe(topic, 0)
        # The broker sends retained messages right after it confirms the subscription.
        while not got and time.monotonic() < deadline:
            if subscribed and time.monotonic() - subscribed[0] > 0.5:
                break
            c.loop(0.05)
    finally:
        c.disconnect()
    if not got:
        raise CheckpointError("no checkpoint is retained on %s at %s:%d (has the device connected yet?)" % (topic, host, port))
    return got[0]


def from_broker(host, port, user, password, pub, topic=None, tls=False, cafile=None, timeout=5.0):
    """Fetch and verify the device's checkpoint: the dict to pass to verify(checkpoint=...)."""
    return parse(fetch(host, port, user, password, topic or topic_for(pub), tls, cafile, timeout), pub)
