"""`doorstep snapshot --device mqtt:...`: the doorbell takes a photo now, as a signed record.

A sealed command (firmware/doorstep/remote.py, op "snapshot"); the answer comes once the
`snapshot` record is on the device's flash and names it. The device rate-limits snapshots
(firmware/doorstep/snapshot.py): a refusal says when the next one can be taken.
"""

import sys


def cmd_snapshot(args):
    from doorstep_tools import device_cmds

    if not (args.device or "").startswith(("mqtt:", "mqtts:")):
        print("doorstep snapshot: the doorbell takes snapshots on a sealed command over MQTT: use"
              " --device mqtt:BROKER[:PORT] (or the Home Assistant button)", file=sys.stderr)
        return 2
    try:
        dev, _info = device_cmds.connected(args)
        dev.call("snapshot")
    except Exception as e:  # noqa: BLE001  -- DeviceError, MqttDeviceError, ValueError: said, not a traceback
        print("doorstep snapshot: %s" % e, file=sys.stderr)
        return 1
    seq = dev.last_record[0] if dev.last_record else None
    print("The doorbell took a photo: signed record seq %s (its photo comes with the records: `doorstep collect`)." % seq)
    return 0


def add_parser(sub):
    import os

    p = sub.add_parser("snapshot", help="the doorbell takes a photo now, as a signed record (over MQTT)")
    p.add_argument("--device", required=True, help="mqtt:BROKER[:PORT][/DEVICE-ID] (mqtts: for TLS)")
    p.add_argument("--mqtt-user", default=os.environ.get("DOORSTEP_MQTT_USER"),
                   help="your broker login (password: DOORSTEP_MQTT_PASSWORD or a prompt)")
    p.add_argument("--mqtt-ca", help="CA certificate file of the broker, for mqtts:")
    p.set_defaults(func=cmd_snapshot)
