"""Independent verification of a pulled Doorstep log, as the tools name it.

The verifier itself is bundle_verify.py with verify_chain.py, verify_format.py and
verify_tsa.py: standalone files (Python 3 and `cryptography` only, never the firmware's own
Ed25519) that every evidence bundle ships, so `doorstep verify`, `doorstep pull`, the report
and a third party's `verify_bundle.py` all make the same checks with the same code.
"""

from doorstep_tools.verify_chain import verify
from doorstep_tools.verify_format import ERROR, NOTICE, UNCHECKED, WARNING, ZERO, Finding, Result, canonical, device_id, segment_lines

__all__ = ["verify", "read_lines", "ERROR", "NOTICE", "UNCHECKED", "WARNING", "ZERO", "Finding", "Result", "canonical", "device_id"]


def read_lines(root):
    """(segment name, line bytes, complete?) in log order; an over-long line reads as b""."""
    for seg, _no, line, complete, _size in segment_lines(root):
        yield seg, line if line is not None else b"", complete
