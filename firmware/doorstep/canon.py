"""Canonical JSON: the exact bytes a record is signed over.

``dumps(obj)`` gives the same text as CPython's
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)``, so the host can
rebuild the signed bytes with the standard library. Only what records hold is accepted: dict
(str keys), list (and tuple, written as a list, as json does), str, int, bool and None. Floats are
refused, because records are integers only and float text is not canonical across runtimes.

Strings are escaped as CPython does with ensure_ascii: \\" \\\\ \\n \\r \\t \\b \\f, any other
character outside printable ASCII (space to ~) as \\u00XX, non-ASCII as \\uXXXX with lower-case hex,
and characters above U+FFFF as a UTF-16 surrogate pair.

The encoder appends pieces to one list and joins it once; strings are scanned as UTF-8 bytes
(indexing bytes gives small ints, so the scan itself allocates nothing) and a string that needs
no escaping is appended as it is.
"""

_ESC = {0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x08: "\\b", 0x0C: "\\f"}


def _str(s, out):
    b = s.encode()
    n = len(b)
    i = 0
    # Fast path: skip the leading run of characters that stand for themselves.
    while i < n:
        c = b[i]
        if c < 0x20 or c > 0x7E or c == 0x22 or c == 0x5C:
            break
        i += 1
    if i == n:
        out.append('"')
        out.append(s)
        out.append('"')
        return
    out.append('"')
    start = 0
    while i < n:
        c = b[i]
        if 0x20 <= c <= 0x7E and c != 0x22 and c != 0x5C:
            i += 1
            continue
        if start < i:
            out.append(b[start:i].decode())
        if c < 0x80:
            e = _ESC.get(c)
            out.append(e if e is not None else "\\u%04x" % c)
            i += 1
        else:
            # Decode one UTF-8 sequence (well formed: it came from str.encode).
            if c < 0xE0:
                cp = ((c & 0x1F) << 6) | (b[i + 1] & 0x3F)
                i += 2
            elif c < 0xF0:
                cp = ((c & 0x0F) << 12) | ((b[i + 1] & 0x3F) << 6) | (b[i + 2] & 0x3F)
                i += 3
            else:
                cp = ((c & 0x07) << 18) | ((b[i + 1] & 0x3F) << 12) | ((b[i + 2] & 0x3F) << 6) | (b[i + 3] & 0x3F)
                i += 4
            if cp >= 0x10000:
                cp -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 | (cp >> 10), 0xDC00 | (cp & 0x3FF)))
            else:
                out.append("\\u%04x" % cp)
        start = i
    if start < n:
        out.append(b[start:n].decode())
    out.append('"')


def _enc(obj, out):
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        _str(obj, out)
    elif isinstance(obj, int):
        out.append(str(obj))
    elif isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, str):
                raise TypeError("canonical JSON keys must be str, not %s" % type(k).__name__)
        out.append("{")
        first = True
        for k in sorted(obj):
            if first:
                first = False
            else:
                out.append(",")
            _str(k, out)
            out.append(":")
            _enc(obj[k], out)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        first = True
        for v in obj:
            if first:
                first = False
            else:
                out.append(",")
            _enc(v, out)
        out.append("]")
    elif isinstance(obj, float):
        raise TypeError("floats are not allowed in canonical JSON (records are integers only): %r" % obj)
    else:
        raise TypeError("canonical JSON cannot encode %s" % type(obj).__name__)


def dumps(obj):
    """The canonical JSON text of obj (a str of ASCII characters)."""
    out = []
    _enc(obj, out)
    return "".join(out)


def dumpb(obj):
    """The canonical JSON bytes of obj: dumps(obj) encoded as ASCII."""
    return dumps(obj).encode()
