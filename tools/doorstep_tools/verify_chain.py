"""One streaming pass over a Doorstep log: signatures, chain, sequence, boot and time order, photos.

Part of the standalone verifier (see bundle_verify.py). Only what later records need is kept
(the previous record's hash and times, missing photos, pruned ranges), so a log of any length
is checked in bounded memory. Every finding names the record and what is wrong.
"""

import hashlib
import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

if __package__:
    from doorstep_tools import verify_tsa
    from doorstep_tools.verify_posture import Posture
    from doorstep_tools.verify_sigs import Signatures
    from doorstep_tools.verify_format import (CHECKPOINT_FIELDS, ERROR, MAX_LINE, NOTICE, WARNING, ZERO, Result, canonical,
                                              device_id, file_digest, is_hex, parse, segment_lines, shape_problem, signed_bytes, utc,
                                              whole)
else:  # in a bundle, beside verify_bundle.py
    import verify_tsa
    from verify_posture import Posture
    from verify_sigs import Signatures
    from verify_format import (CHECKPOINT_FIELDS, ERROR, MAX_LINE, NOTICE, WARNING, ZERO, Result, canonical, device_id,
                               file_digest, is_hex, parse, segment_lines, shape_problem, signed_bytes, utc, whole)

TIME_SLACK = 300  # seconds a doorbell's clock may run ahead of the TSA's before its time is called wrong


class LogCheck:
    """The state carried from one record to the next."""

    def __init__(self, root, res, pub, want, tokens, period):
        self.root, self.res, self.period = root, res, period
        self.pub = self.key = None
        if pub is not None:
            self.set_key(pub)
        self.pinned = pub is not None
        self.want, self.hashes = want, {}  # seqs whose hash a head, checkpoint or token names
        self.bounds = verify_tsa.bounds(tokens)  # (seq, latest time its records may bear, token)
        self.bi = 0
        self.expect = self.prev_hash = self.last = None
        self.unread = 0  # unreadable lines since the last record
        self.first = None  # (seq, prev) of the first record
        self.pruned, self.pruned_photos, self.missing = [], set(), {}
        self.said_no_key = False
        self.posture = res.posture = Posture()
        self.sigs = Signatures(res.add)
        self.add = self.sigs.add  # findings wait here while signatures before them are being checked

    def set_key(self, pub):
        self.pub, self.key, self.dev = pub, Ed25519PublicKey.from_public_bytes(pub), device_id(pub)

    def skip(self, h, seq=None):
        """A line that is no good record (already an error). With its seq known, the chain goes on
        from its hash; unreadable, it may have been a record or an insertion: neither the chain nor
        the order is checked across it."""
        self.last = None
        if seq is not None:
            self.prev_hash, self.expect, self.unread = h, seq + 1, 0
        else:
            self.prev_hash, self.unread = None, self.unread + 1

    def line(self, seg, no, line, complete, size):
        res, where = self.res, "records/%s line %d" % (seg, no)
        if line is None:
            res.count += complete
            self.add(ERROR, None, "this line is %d bytes long; no Doorstep record is longer than %d KiB, so it was refused unread"
                    % (size, MAX_LINE // 1024), where)
            return self.skip(None)
        if not complete:
            return self.add(NOTICE, self.expect, "torn tail: %d bytes after the last complete record in %s (power cut while writing;"
                           " the device quarantines it at its next boot)" % (size, seg))
        res.count += 1
        h = hashlib.sha256(line).hexdigest()
        rec, why = parse(line)
        if rec is not None and not isinstance(rec, dict):
            rec, why = None, "it is not a record (a JSON object)"
        if rec is None:
            self.add(ERROR, None, why, where)
            return self.skip(None)
        seq = rec.get("seq") if whole(rec.get("seq")) else None
        if sorted(rec) == CHECKPOINT_FIELDS:
            res.count -= 1
            return self.add(ERROR, None, "this line is the device's signed MQTT checkpoint, not a record: a checkpoint is never"
                           " part of the log, so it was put there", where)
        why = shape_problem(rec)
        if why:
            self.add(ERROR, seq, "the record is malformed: %s" % why, where)
            if res.keep and seq is not None:
                res.records.append(rec)  # the report lists it, marked FAILED
            return self.skip(h, seq)
        self.record(rec, line, h, where)

    def record(self, rec, line, h, where):
        res, seq, ev = self.res, rec["seq"], rec["ev"]
        body = {k: v for k, v in rec.items() if k != "sig"}
        try:
            canon = canonical(rec) == line
            msg = signed_bytes(line, rec) if canon else canonical(body)
        except (ValueError, RecursionError):
            canon, msg = False, None
        if not canon:
            self.add(ERROR, seq, "the record's bytes are not canonical JSON (edited by hand?)", where)
        if seq == 0 and ev == "genesis":
            gpub = bytes.fromhex(rec["pub"])
            if self.pinned and gpub != self.pub:
                self.add(ERROR, 0, "the genesis key is not the pinned key: this is a different device or a forged log", where)
            elif self.key is None:
                self.set_key(gpub)
        elif seq == 0:
            self.add(ERROR, 0, "record 0 is not the log's genesis record", where)
        if self.key is None and not self.said_no_key:
            self.said_no_key = True
            self.add(ERROR, seq, "the log does not start with its genesis record and no key is pinned", where)
        if self.key is not None:
            if rec["dev"] != self.dev:
                self.add(ERROR, seq, "dev %r is not this device (%s)" % (rec["dev"], self.dev), where)
            self.sigs.check(self.key, self.pub, seq, where, bytes.fromhex(rec["sig"]), msg or b"",
                            "the signature does not verify: the record was altered or not made by this device")
        self.order(rec, where)
        self.posture.see(rec, self.add, where)
        if rec.get("photo"):
            self.photo(rec, where)
        if ev == "photo_pruned":
            self.pruned_photos.update(rec["seqs"])
        elif ev == "records_pruned":
            self.pruned.append((rec["from"], rec["to"], rec["last_hash"]))
        elif ev == "recovered":
            self.add(NOTICE, seq, "the device cut a torn tail of %s bytes at boot (kept in %s)" % (rec.get("bytes"), rec.get("file")))
        if seq in self.want:
            self.hashes[seq] = h
        self.prev_hash, self.expect, res.head = h, seq + 1, (seq, h)
        if res.first is None:
            res.first, self.first = seq, (seq, rec["prev"])
        if res.keep:
            res.records.append(rec)

    def order(self, rec, where):
        """Sequence, chain, boot and time order against the record before; time against the TSA."""
        seq, boot, ms, t = rec["seq"], rec["boot"], rec["ms"], rec["t"]
        if self.expect is not None and not self.expect <= seq <= self.expect + self.unread:
            if seq < self.expect:
                self.add(ERROR, seq, "seq goes back from %d to %d: records reordered or inserted" % (self.expect - 1, seq), where)
            else:
                self.add(ERROR, seq, "records %d to %d are missing (deleted)" % (self.expect + self.unread, seq - 1), where)
        self.unread = 0
        if self.prev_hash is not None and rec["prev"] != self.prev_hash:
            self.add(ERROR, seq, "prev does not match the record before it: the chain is broken here", where)
        if self.prev_hash is None and seq == 0 and rec["prev"] != ZERO:
            self.add(ERROR, 0, "the genesis record's prev is not zero", where)
        if self.last is not None:
            lboot, lms, lt, ltq, lev = self.last
            if boot < lboot:
                self.add(ERROR, seq, "boot counter goes back from %d to %d" % (lboot, boot), where)
            elif boot == lboot:
                if ms < lms:
                    self.add(ERROR, seq, "time since boot goes back within boot %d" % boot, where)
                if t is not None and lt is not None and t < lt and "time_set" not in (lev, rec["ev"]) and rec["tq"] == ltq:
                    self.add(ERROR, seq, "time goes back within boot %d without a time_set record" % boot, where)
            elif rec["ev"] not in ("boot", "recovered", "genesis"):
                self.add(ERROR, seq, "boot %d starts without a boot record" % boot, where)
        self.last = (boot, ms, t, rec["tq"], rec["ev"])
        while self.bi < len(self.bounds) and self.bounds[self.bi][0] < seq:
            self.bi += 1
        if t is not None and self.bi < len(self.bounds) and t > self.bounds[self.bi][1] + TIME_SLACK:
            _, latest, tok = self.bounds[self.bi]
            self.add(WARNING, seq, "its time %s is after %s, when %s attested that the log up to seq %d already existed: the"
                    " doorbell's clock was wrong (or set forward) here, so this record's time is not to be relied on"
                    % (utc(t), utc(latest), tok.tsa, tok.seq))

    def photo(self, rec, where):
        seq, ph = rec["seq"], rec["photo"]
        try:
            digest, size = file_digest(os.path.join(self.root, ph["file"]))
        except FileNotFoundError:
            self.missing[seq] = (ph["file"], rec["t"], where)
            return
        except OSError as e:
            return self.add(ERROR, seq, "photo %s cannot be read (%s)" % (ph["file"], e.strerror), where)
        self.res.photos += 1
        if digest != ph["sha256"] or size != ph["size"]:
            self.add(ERROR, seq, "photo %s does not match its record (swapped or edited)" % ph["file"], where)

    def finish(self, refs, tokens):
        self.sigs.close()
        res = self.res
        start, end = self.period or (None, None)
        for seq, (name, t, where) in sorted(self.missing.items()):
            if seq in self.pruned_photos:
                continue
            if self.period and not (t is not None and (start is None or t >= start) and (end is None or t <= end)):
                res.photos_left_out += 1  # a bundle holds the photos of its period only
                continue
            res.add(ERROR, seq, "photo %s is missing" % name, where)
        if res.first is None:
            return res.add(ERROR, None, "no records found under %s" % os.path.join(self.root, "records"))
        self.check_start()
        res.reach = self.check_refs(refs, tokens)
        self.posture.report(res.add)

    def check_start(self):
        """A log that does not start at 0 is explained by signed records_pruned records, or it lost its start."""
        res, (first, prev) = self.res, self.first
        if first == 0:
            return
        covered = 0
        for a, b, _ in sorted(self.pruned):
            if a > covered:
                break
            covered = max(covered, b + 1)
        ends = [lh for a, b, lh in self.pruned if b == first - 1]
        if covered < first or not ends:
            res.add(ERROR, first, "records 0 to %d are missing and no records_pruned record explains it" % (first - 1))
        elif prev not in ends:
            res.add(ERROR, first, "the first record does not follow the pruned range named by records_pruned")
        else:
            res.add(NOTICE, first, "records 0 to %d were pruned on the device after being pulled" % (first - 1))

    def check_refs(self, refs, tokens):
        """The log must still hold what a head, checkpoint or TSA saw. Returns the highest seq confirmed."""
        res, last, reach = self.res, self.res.head[0], None
        for name, ref in refs:
            s, hh = ref["seq"], ref["hash"]
            if s not in self.hashes:
                if s > last:
                    res.add(ERROR, s, "the log ends at seq %d but the %s is seq %d: the tail was truncated" % (last, name, s))
                else:
                    res.add(ERROR, s, "the %s (seq %s) is not in this log" % (name, s))
            elif self.hashes[s] != hh:
                res.add(ERROR, s, "the record at the %s differs from the one seen before: the log was rewritten" % name)
            else:
                reach = max(reach or 0, s)
        for tok in tokens:
            when = "%s, attested by %s" % (utc(tok.time), tok.tsa)
            if self.pub is not None and tok.dev != self.dev:
                res.add(ERROR, tok.seq, "%s is for another doorbell (device %s), not this log's" % (tok.file, tok.dev))
            elif tok.seq not in self.hashes:
                res.add(ERROR, tok.seq, "the TSA attested that the log reached seq %d (%s), but this copy ends at seq %d: records"
                        " %d to %d were cut from its end, or are not pulled yet" % (tok.seq, when, last, last + 1, tok.seq))
            elif self.hashes[tok.seq] != tok.hash:
                res.add(ERROR, tok.seq, "%s names another record at seq %d than this log's (%s): the log was rewritten after"
                        " that time, or the token belongs to another log" % (tok.file, tok.seq, when))
            else:
                res.attested.append(tok)
                reach = max(reach or 0, tok.seq)
        return reach


def _ref(name, ref, res):
    if isinstance(ref, dict) and whole(ref.get("seq")) and is_hex(ref.get("hash"), 64):
        return name, ref
    res.add(ERROR, None, "the %s is damaged: it must be {\"seq\": N, \"hash\": 64 lowercase hex digits}" % name)
    return None


def verify(root, pub=None, head=None, checkpoint=None, keep_records=True, tsa_ca=None, period=None):
    """Check the log under root. pub: the pinned raw public key (32 bytes); head / checkpoint:
    {"seq", "hash"} the log must still reach (a cut tail); tsa_ca: PEM file of the CA the
    timestamp tokens in root/timestamps must chain to (default: root/timestamps/tsa-ca.pem);
    period: (from, to) of a bundle, whose photos outside it are not included.
    keep_records=False streams: res.records stays empty and findings past MAX_FINDINGS are counted."""
    res = Result(keep_records)
    refs = [r for r in (_ref("last pulled head", head, res) if head else None,
                        _ref("checkpoint", checkpoint, res) if checkpoint else None) if r]
    tokens = verify_tsa.load(root, res, tsa_ca)
    want = {ref["seq"] for _, ref in refs} | {tok.seq for tok in tokens}
    check = LogCheck(root, res, pub, want, tokens, period)
    for seg, no, line, complete, size in segment_lines(root):
        check.line(seg, no, line, complete, size)
    check.finish(refs, tokens)
    res.pub = check.pub
    return res
