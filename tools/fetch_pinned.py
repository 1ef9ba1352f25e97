"""Fetch a tar.gz once, check its pinned SHA-256, and unpack one member of it to a path.

Used by `make setup` for micropython-lib's old ssd1306 sdist (see the Makefile): a file
that does not match the pin is refused and nothing is written (exit 1); when the file cannot
be fetched at all (offline) it says so and exits 2, and the tests that need it skip.
Usage: fetch_pinned.py URL SHA256 MEMBER DEST
"""

import hashlib
import io
import os
import sys
import tarfile
import urllib.request


def main(url, sha256, member, dest):
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            data = r.read()
    except OSError as e:
        print("fetch_pinned: cannot fetch %s (%s): the display's board check will be skipped" % (url, e), file=sys.stderr)
        return 2
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        print("fetch_pinned: %s has SHA-256 %s, not the pinned %s: refused" % (url, got, sha256), file=sys.stderr)
        return 1
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        body = t.extractfile(member).read()
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest + ".part", "wb") as f:
        f.write(body)
    os.replace(dest + ".part", dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
