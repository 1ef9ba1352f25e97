"""UTC times as the homeowner types and reads them."""

from datetime import datetime, timezone

_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


def parse_utc(text):
    """UTC Unix seconds from '2026-06-25', '2026-06-25T09:00Z' or '2026-06-25T09:00:00Z'."""
    for fmt in _FORMATS:
        try:
            return int(datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp())
        except ValueError:
            pass
    # A plain number is not repeated: it may be a delivery code typed in the wrong place.
    shown = "a plain number" if text.strip().isdigit() else repr(text)
    raise ValueError("%s is not a UTC time: write it like 2026-06-25T09:00Z or 2026-06-25" % shown)


def parse_utc_until(text):
    """The end of a validity window: a date alone means the end of that day (the next midnight,
    as codes stop being valid at their until), anything else is parse_utc."""
    t = parse_utc(text)
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return t
    return t + 86400


def show_utc(t, fmt="%Y-%m-%d %H:%M:%S UTC"):
    if t is None:
        return "clock not set"
    return datetime.fromtimestamp(t, timezone.utc).strftime(fmt)
