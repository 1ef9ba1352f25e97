"""Ed25519 checks of a long log, spread over the machine's cores.

Part of the standalone verifier (see bundle_verify.py). A signature check (OpenSSL through
`cryptography`) costs about 160 us here, more than everything else about a record together, and
each record's check is independent of the others: past the first PARALLEL_AFTER records they go
in batches to worker processes, while the main process parses and chains the next records. Few
batches are in flight at a time, so memory stays bounded. Findings are handed back in the order
the records came, exactly as the serial check gives them.
"""

import os
import sys
from collections import deque

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PARALLEL_AFTER = 300  # a short log is checked before a worker would have started
BATCH, BATCH_BYTES = 500, 1 << 20  # records or bytes of signed messages per batch


def bad_signatures(pub, items):
    """Indexes of the (signature, message) pairs that do not verify with pub (in a worker)."""
    key = Ed25519PublicKey.from_public_bytes(pub)
    bad = []
    for i, (sig, msg) in enumerate(items):
        try:
            key.verify(sig, msg)
        except InvalidSignature:
            bad.append(i)
    return bad


def _workers():
    """Worker processes to use: none where fork is not the way (Windows, macOS) or on one core."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return min(cores, 4) if cores > 1 else 0


class Signatures:
    """check() each record's signature; report(fn) passes on findings in record order.

    emit(level, seq, text, where) is where findings go; while batches are out, findings of the
    records after them wait here, so the order never changes."""

    def __init__(self, emit):
        self.emit = emit
        self.seen, self.pool, self.workers = 0, None, 0
        self.items, self.held, self.bytes = [], [], 0  # the batch being filled: (sig, msg), the findings after it
        self.out = deque()  # (future, held findings) of batches sent

    def add(self, level, seq, text, where=None):
        if self.pool is None:
            self.emit(level, seq, text, where)
        else:
            self.held.append((level, seq, text, where))

    def check(self, key, pub, seq, where, sig, msg, fail_text):
        self.seen += 1
        if self.pool is None and self.seen > PARALLEL_AFTER:
            self.start()
        if self.pool is None:
            try:
                key.verify(sig, msg)
            except InvalidSignature:
                self.emit("error", seq, fail_text, where)
            return
        self.held.append((len(self.items), seq, fail_text, where))  # a check whose outcome is pending
        self.items.append((sig, msg))
        self.pub, self.bytes = pub, self.bytes + len(msg)
        if len(self.items) >= BATCH or self.bytes >= BATCH_BYTES:
            self.send()

    def start(self):
        self.workers = _workers()
        if self.workers:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))

    def send(self):
        if self.items:
            self.out.append((self.pool.submit(bad_signatures, self.pub, self.items), self.held))
        elif self.held:
            self.out.append((None, self.held))
        self.items, self.held, self.bytes = [], [], 0
        while len(self.out) > 2 * self.workers:
            self.receive()

    def receive(self):
        fut, held = self.out.popleft()
        bad = set(fut.result()) if fut is not None else set()
        for entry in held:
            if isinstance(entry[0], int):  # a pending signature check
                if entry[0] in bad:
                    self.emit("error", entry[1], entry[2], entry[3])
            else:
                self.emit(*entry)

    def close(self):
        """Wait for every batch; after this, findings go straight through again."""
        if self.pool is None:
            return
        self.send()
        while self.out:
            self.receive()
        self.pool.shutdown()
        self.pool = None
