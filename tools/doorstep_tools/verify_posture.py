"""What a Doorstep log says of the doorbell's posture: production mode, flash encryption,
secure boot and the hardware, as its genesis and boot records state them.

Part of the standalone verifier (see bundle_verify.py). The posture is the device's own
statement, signed with its key: it tells how well that key was kept (docs/threat-model.md),
and `"hw": "sim"` marks a log made by the simulator, which can never pass for a doorbell's.
Only the first posture and each change are kept, so any length of log costs the same.
"""

KEYS = ("production", "flash_enc", "secure_boot")
ERROR, WARNING, NOTICE = "error", "warning", "notice"


def _flag(v):
    return v is True or v is False or v == "unknown"


def problem(p):
    """Why a record's posture is malformed, or None."""
    if not isinstance(p, dict) or sorted(p) != sorted(("hw",) + KEYS):
        return 'its posture must be {"hw", "production", "flash_enc", "secure_boot"}'
    if not isinstance(p["hw"], str) or not p["hw"]:
        return "its posture's hw must name the hardware"
    for k in KEYS:
        if not _flag(p[k]):
            return "its posture's %s must be true, false or \"unknown\"" % k
    return None


def words(p):
    """'production on, flash encrypted, secure boot on (esp32s3)' and the like."""
    def say(v, yes, no):
        return yes if v is True else no if v is False else "%s unknown" % yes.split(" ")[0]

    return "%s, %s, %s (%s)" % (say(p["production"], "production on", "production off"),
                                say(p["flash_enc"], "flash encrypted", "flash NOT encrypted"),
                                say(p["secure_boot"], "secure boot on", "secure boot off"), p["hw"])


def sealed(p):
    """Whether the key could not be read or the firmware changed by whoever holds the doorbell."""
    return p is not None and all(p[k] is True for k in KEYS) and p["hw"] != "sim"


def _rank(v):
    return 2 if v is True else 0 if v is False else 1


class Posture:
    """The postures seen in a log, in order: the first, each change, the last."""

    def __init__(self):
        self.first = self.last = None  # (seq, boot, posture)
        self.changes = []  # (seq, boot, old, new)
        self.sim = None  # seq of the first record that says "sim"
        self.unstated = 0  # genesis/boot records without a posture (firmware before it)

    def see(self, rec, add, where):
        if rec["ev"] not in ("genesis", "boot"):
            return
        p = rec.get("posture")
        if p is None:
            self.unstated += 1
            return
        why = problem(p)
        if why:
            return add(ERROR, rec["seq"], "the record is malformed: %s" % why, where)
        now = (rec["seq"], rec["boot"], p)
        if self.first is None:
            self.first = now
        elif p != self.last[2]:
            self.changes.append((rec["seq"], rec["boot"], self.last[2], p))
        self.last = now
        if p["hw"] == "sim" and self.sim is None:
            self.sim = rec["seq"]

    def report(self, add):
        """The findings both entry points print (and the report shows)."""
        if self.sim is not None:
            add(WARNING, self.sim, 'the records say "hw": "sim": this log was made by the Doorstep simulator on a PC, not by a'
                " doorbell, and is no evidence of anything that happened at a door")
        for seq, boot, old, new in self.changes:
            weaker = new["hw"] != old["hw"] or any(_rank(new[k]) < _rank(old[k]) for k in KEYS)
            add(WARNING if weaker else NOTICE, seq, "at boot %d the doorbell's posture changed from %s to %s" % (boot, words(old), words(new)))
        if self.first is None:
            if self.unstated:
                add(NOTICE, None, "no record states the doorbell's posture (firmware older than posture records): whether its"
                    " key could be read by whoever holds it is unknown")
            return
        seq, boot, p = self.last
        if self.changes:
            text = "device posture at seq %d: %s; at its last start (seq %d, boot %d): %s" % (
                self.first[0], words(self.first[2]), seq, boot, words(p))
        else:
            text = "device posture, the same in every record that states it (seq %d to %d): %s" % (self.first[0], seq, words(p))
        if not sealed(p) and p["hw"] != "sim":
            text += (". Unless production, flash encryption and secure boot are all on, whoever holds the doorbell (its owner)"
                     " can read its signing key and sign records of their own: this log is only as trustworthy as that person")
        add(NOTICE, None, text)
