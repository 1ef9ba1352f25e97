"""The homeowner's handover commands over the cable (admin.py re-exports them for the host).

Like admin.py's code commands: each change is a signed record (handover_added,
handover_revoked, handover_reset) naming the label and window only; answers carry labels,
windows and whether a code was released, never the code or the challenge.
"""

from doorstep.handover import HandoverBook


def _book(storage):
    return HandoverBook(storage)


def add_handover(storage, t, label, code, challenge, t_from=None, t_until=None, rng=None):
    """rng: the salt's source (os.urandom, the ESP32's hardware RNG, when not given)."""
    from doorstep import admin
    from doorstep.provision import default_rng

    admin._audit(storage, "add_handover", t)
    d = _book(storage).add(label, code, challenge, t_from, t_until, rng or default_rng)
    code = challenge = None
    admin._record(storage, {"ev": "handover_added", "label": label, "from": t_from, "until": t_until}, t)
    return d


def list_handover(storage):
    from doorstep import admin

    admin._audit(storage, "list_handover")
    return _book(storage).list()


def revoke_handover(storage, t, label):
    from doorstep import admin

    admin._audit(storage, "revoke_handover", t)
    d = _book(storage).revoke(label)
    admin._record(storage, {"ev": "handover_revoked", "label": label}, t)
    return d


def reset_handover(storage, t, label):
    """Let a released code be shown once more (the homeowner decided, over the cable)."""
    from doorstep import admin

    admin._audit(storage, "reset_handover", t)
    d = _book(storage).reset(label)
    admin._record(storage, {"ev": "handover_reset", "label": label}, t)
    return d
