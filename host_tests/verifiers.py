"""The verifier's two entry points, run the way their users run them.

"doorstep verify" is the homeowner's command (in this process, as the CLI's main()).
"verify_bundle.py" is what a claims agent runs from an unzipped bundle: the files a bundle
ships, copied on their own into a folder, run by a fresh Python in which the Doorstep
packages cannot be imported, so the test proves they need nothing but `cryptography`.
"""

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile

from doorstep_tools import bundle_verify
from doorstep_tools.bundle import VERIFIER

ENTRY_POINTS = ("doorstep verify", "verify_bundle.py")
_standalone = []

# Block the Doorstep packages (and, with no_tsa, the RFC 3161 library) in the child Python.
BOOT = """
import runpy, sys
for name in %r:
    sys.modules[name] = None
sys.argv = ["verify_bundle.py"] + sys.argv[1:]
runpy.run_path(%r, run_name="__main__")
"""


def standalone_copy():
    """A folder holding only the files a bundle ships as its verifier."""
    if not _standalone:
        d = tempfile.mkdtemp(prefix="verify-bundle-")
        shutil.copyfile(VERIFIER, os.path.join(d, "verify_bundle.py"))
        for name in getattr(bundle_verify, "MODULES", ()):
            shutil.copyfile(os.path.join(os.path.dirname(VERIFIER), name), os.path.join(d, name))
        _standalone.append(d)
    return _standalone[0]


def run(entry, folder, *args, no_tsa=False):
    """(exit status, everything printed) of one verification."""
    args = [str(a) for a in args]
    if entry == "doorstep verify":
        from doorstep_tools.cli import main

        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                rc = main(["verify", str(folder), *args])
            except SystemExit as e:  # argparse: an unknown option
                rc = e.code
        return rc, out.getvalue()
    blocked = ["doorstep_tools", "doorstep"] + (["rfc3161_client"] if no_tsa else [])
    script = os.path.join(standalone_copy(), "verify_bundle.py")
    r = subprocess.run([sys.executable, "-c", BOOT % (blocked, script), str(folder), *args],
                       capture_output=True, text=True, timeout=300, cwd=tempfile.gettempdir())
    return r.returncode, r.stdout + r.stderr
