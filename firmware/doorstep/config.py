"""The device configuration (config.json), checked once at boot.

Wrong values are refused with a message naming the key, and the door runs on defaults
for the door rules; nothing here has a default password or credential.
"""

CONFIG_FILE = "config.json"
GOOD_FILE = "config.good.json"  # the last config.json that booted

DEFAULTS = {
    "heartbeat_min": 60,  # a signed heartbeat this often
    "entry_timeout_s": 10,  # the typed digits are cleared after this long without a key
    "max_digits": 12,
    "relay_policy": "refuse",  # or "flag": a code typed during/just after an intercom call
    "relay_after_s": 30,
    "layout": "3x4",  # or "4x4"
    "photo_timeout_ms": 1500,  # a camera slower than this gives photo_err "timeout"
    "min_free_kb": 256,  # below this the oldest photos are pruned
    "time_jump_s": 120,  # a clock change larger than this is recorded as time_set
    "handover_show_s": 30,  # a carrier code stays on the door display this long (handover.py)
    "camera_keep_min": 1440,  # a camera_check record keeps a photo this often (0: never)
    "camera_motion_s": 0,  # without a PIR: look for movement in a frame this often (0: off)
}

_CHOICES = {"relay_policy": ("refuse", "flag"), "layout": ("3x4", "4x4")}
_RANGES = {
    "heartbeat_min": (1, 24 * 60),
    "entry_timeout_s": (2, 120),
    "max_digits": (4, 12),
    "relay_after_s": (0, 3600),
    "photo_timeout_ms": (100, 10000),
    "min_free_kb": (16, 4096),
    "time_jump_s": (1, 86400),
    "handover_show_s": (5, 120),
    "camera_keep_min": (0, 7 * 24 * 60),
    "camera_motion_s": (0, 60),
}


class ConfigError(ValueError):
    pass


def check(cfg):
    """Return cfg merged over DEFAULTS, or raise ConfigError naming the first bad key."""
    if not isinstance(cfg, dict):
        raise ConfigError("the configuration must be a JSON object")
    out = dict(DEFAULTS)
    for k, v in cfg.items():
        if k in _CHOICES:
            if v not in _CHOICES[k]:
                raise ConfigError("%s must be one of %s, not %r" % (k, ", ".join(_CHOICES[k]), v))
        elif k in _RANGES:
            lo, hi = _RANGES[k]
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise ConfigError("%s must be a whole number from %d to %d, not %r" % (k, lo, hi, v))
        out[k] = v  # other sections (wifi, mqtt, board) are checked by their own modules
    return out


def load(storage):
    """(config, error message or None): a damaged file falls back to the defaults."""
    try:
        return check(storage.read_json(CONFIG_FILE, {})), None
    except Exception as e:  # StorageError or ConfigError: the door must still work
        return dict(DEFAULTS), str(e)


def read_raw(storage):
    """(config.json as a dict, None), or, when it cannot be read at all (cut short, garbled),
    (the last configuration that booted, why config.json was not used), so a damaged file
    does not stop the door. ConfigError when there is no good copy either."""
    try:
        raw = storage.read_json(CONFIG_FILE, {})
        if isinstance(raw, dict):
            return raw, None
        err = "config.json must hold a JSON object"
    except Exception as e:  # noqa: BLE001  -- StorageError
        err = str(e)
    try:
        good = storage.read_json(GOOD_FILE, None)
    except Exception:  # noqa: BLE001
        good = None
    if not isinstance(good, dict):
        raise ConfigError(err)
    return good, err


def keep_good(storage):
    """Keep a copy of a config.json that booted, written only when it changed."""
    try:
        if storage.exists(CONFIG_FILE):
            data = storage.read(CONFIG_FILE)
            if not storage.exists(GOOD_FILE) or storage.read(GOOD_FILE) != data:
                storage.write_atomic(GOOD_FILE, data)
    except Exception:  # noqa: BLE001  -- no copy this time; the door still runs
        pass
