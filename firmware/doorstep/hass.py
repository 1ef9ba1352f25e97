"""What Home Assistant is told over MQTT: the topics, the discovery configs, the payloads.

Kept apart from the MQTT transport (mqtt.py) and from the feed that sends it (hafeed.py)
because it is the part that follows Home Assistant's documented schema (MQTT discovery; the event, image and sensor platforms)
and changes when that does. Everything here is pure data: no socket, no client.

One device, six entities, all with unique ids made from the device id:
    event  ring      device_class doorbell, event_types ["ring"]
    event  verdict   one event type per outcome at the keypad (VERDICTS)
    event  handover  a carrier code was shown at the door (label only, never the code)
    image  photo     the latest photo's JPEG bytes (content_type image/jpeg)
    sensor heartbeat time of the last signed heartbeat (device_class timestamp)
    sensor head      seq of the newest record (read from the signed checkpoint)
    button snapshot  a signed photo now (snapshot.py); its topic is not under cmd/ or admin/,
                     and what is sent to it is never read: it cannot touch the codes
Availability is one retained topic: "online" on connect, "offline" as the last will.
"""

from doorstep import VERSION, canon

ONLINE = b"online"
OFFLINE = b"offline"

# Outcomes an attempt record can carry (door.py, codes.py), plus refused remote requests.
VERDICTS = (
    "accepted", "wrong", "used", "expired", "not_yet_valid", "no_clock", "invalid",
    "locked", "fail_closed", "unavailable", "relay_refused",
)

_TOPIC_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-/"


def check_prefix(name, value):
    """A topic prefix: plain characters, no wildcards, no empty levels. Returns an error or None."""
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        return "%s must be text of 1 to 64 characters" % name
    for c in value:
        if c not in _TOPIC_CHARS:
            return "%s may only hold letters, digits, _ - and /, not %r" % (name, c)
    if value[0] == "/" or value[-1] == "/" or "//" in value:
        return "%s must not start or end with / or hold an empty level (//)" % name
    return None


class Topics:
    """Every topic the device uses, made once (they are bytes, ready for the client)."""

    def __init__(self, prefix, discovery, dev):
        self.prefix = prefix
        p = prefix + "/"
        self.status = (p + "status").encode()
        self.record = (p + "record").encode()
        self.ring = (p + "ring").encode()
        self.verdict = (p + "verdict").encode()
        self.handover = (p + "handover").encode()
        self.photo = (p + "photo").encode()
        self.heartbeat = (p + "heartbeat").encode()
        self.checkpoint = (p + "checkpoint").encode()
        self.command = (p + "cmd").encode()
        self.commands = (p + "cmd/#").encode()  # matches .../cmd and everything below it
        self.snapshot = (p + "button/snapshot").encode()
        self.discovery = discovery
        self.dev = dev

    def config_topic(self, component, obj):
        return ("%s/%s/%s/%s/config" % (self.discovery, component, self.dev, obj)).encode()


def discovery(tp):
    """(topic, payload bytes) of each retained discovery config, one per entity."""
    dev = tp.dev
    device = {
        "identifiers": ["doorstep_" + dev],
        "name": "Doorstep " + dev[:6],
        "manufacturer": "Doorstep",
        "model": "ESP32 keypad doorbell",
        "sw_version": VERSION,
    }
    status = tp.status.decode()

    def entity(obj, name, extra):
        cfg = {
            "name": name,
            "unique_id": "doorstep_%s_%s" % (dev, obj),
            "availability_topic": status,
            "payload_available": ONLINE.decode(),
            "payload_not_available": OFFLINE.decode(),
            "device": device,
            "origin": {"name": "doorstep", "sw_version": VERSION},
        }
        for k in extra:
            cfg[k] = extra[k]
        return canon.dumpb(cfg)

    checkpoint = tp.checkpoint.decode()
    # One entity at a time (a generator): the device never holds all five configs at once.
    yield (tp.config_topic("event", "ring"), entity("ring", "Doorbell", {
        "state_topic": tp.ring.decode(), "event_types": ["ring"], "device_class": "doorbell"}))
    yield (tp.config_topic("event", "verdict"), entity("verdict", "Keypad verdict", {
        "state_topic": tp.verdict.decode(), "event_types": list(VERDICTS), "icon": "mdi:dialpad"}))
    yield (tp.config_topic("event", "handover"), entity("handover", "Parcel handover", {
        "state_topic": tp.handover.decode(), "event_types": ["handover"], "icon": "mdi:package-variant"}))
    yield (tp.config_topic("image", "photo"), entity("photo", "Last photo", {
        "image_topic": tp.photo.decode(), "content_type": "image/jpeg"}))
    yield (tp.config_topic("sensor", "heartbeat"), entity("heartbeat", "Last heartbeat", {
        "state_topic": tp.heartbeat.decode(), "device_class": "timestamp", "entity_category": "diagnostic"}))
    yield (tp.config_topic("sensor", "head"), entity("head", "Log head", {
        "state_topic": checkpoint, "value_template": "{{ value_json.seq }}",
        "json_attributes_topic": checkpoint, "entity_category": "diagnostic", "icon": "mdi:link-variant"}))
    yield (tp.config_topic("button", "snapshot"), entity("snapshot", "Take a signed photo", {
        "command_topic": tp.snapshot.decode(), "payload_press": "PRESS", "icon": "mdi:camera"}))


def event_payload(kind, seq, t, hash_, extra, late_s=0):
    """An event entity's message: event_type plus attributes (never digits: records hold none).

    "time" is when the event happened at the door (the record's own clock), "late_s" how
    long it waited for the broker: events sent after an outage are not news."""
    ev = {"event_type": kind, "seq": seq, "t": t, "time": iso_utc(t), "late_s": late_s, "hash": hash_}
    if extra:
        for k in extra:
            ev[k] = extra[k]
    return canon.dumpb(ev)


def iso_utc(t):
    """Unix seconds as ISO 8601 UTC ("2026-06-25T09:00:00+00:00"), what a timestamp sensor wants.

    Calendar arithmetic by hand: time.gmtime's epoch differs between ports. None (the clock
    was never set) becomes "None", which Home Assistant shows as unknown.
    """
    if t is None:
        return "None"
    days, s = divmod(t, 86400)
    # Days since 1970-01-01 to a date, counting in 400-year eras that start on 1 March.
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    return "%04d-%02d-%02dT%02d:%02d:%02d+00:00" % (y, m, d, s // 3600, s // 60 % 60, s % 60)
