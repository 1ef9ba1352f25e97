"""Handover commands in the sealed remote administration (remote.py hands them over here).

    add_handover     {"label", "from", "until", "secret": hex}  secret: "<code>\\n<challenge>"
                     encrypted under the enc key with the command's counter, as add_code's code
    list_handover    {}  labels, windows, released (never a code or a challenge)
    revoke_handover  {"label"}

Both the code and the challenge travel in ONE encrypted blob: two values encrypted under
the same counter would share keystream. No command releases, shows or reads a code: that
happens only at the keypad (handover_door.py).
"""

from doorstep import seal

OPS = ("add_handover", "list_handover", "revoke_handover")
RECORDED = ("add_handover", "revoke_handover")


def _int(v):
    return v is None or (isinstance(v, int) and not isinstance(v, bool))


def run(app, keys, dev, n, op, args):
    desk = app.door.handover
    if desk is None or desk.book is None:
        raise ValueError("this doorbell cannot show handover codes: it needs a display (and an undamaged handover.json)")
    book = desk.book
    if op == "list_handover":
        return book.list()
    label = args.get("label")
    ev = {"label": label, "via": "mqtt", "cmd": n}
    if op == "revoke_handover":
        d = book.revoke(label)
        ev["ev"] = "handover_revoked"
    else:
        t_from, t_until = args.get("from"), args.get("until")
        if not (_int(t_from) and _int(t_until)):
            raise ValueError("from and until must be UTC Unix times in seconds")
        blob = seal.decrypt_hex(keys["enc"], dev, n, args.get("secret"))
        i = blob.find(b"\n")
        if i < 0:
            raise ValueError("the handover must carry a code and a challenge")
        if desk.rng is None:
            from doorstep.provision import default_rng

            desk.rng = default_rng
        d = book.add(label, blob[:i], blob[i + 1 :], t_from, t_until, desk.rng)
        blob = None
        ev.update({"ev": "handover_added", "from": t_from, "until": t_until})
    app.emit(ev)
    return d
