"""`doorstep pull` and `doorstep ack`: copy the device's log to this PC, verified before it replaces
the copy already here, and tell the doorbell which records a verified copy holds."""

import json
import os
import shutil
import sys
import time

from doorstep_tools.device_cmds import (DeviceError, add_device_args, cable_only, connected, fingerprint, guard,
                                        load_profiles, profiles_path, save_profile)


def _progress(i, n, rel):
    width = 30
    done = width * i // max(n, 1)
    sys.stderr.write("\r[%s%s] %d/%d %s" % ("#" * done, "." * (width - done), i, n, rel[-40:].ljust(40)))
    if i == n:
        sys.stderr.write("\n")
    sys.stderr.flush()


ASIDE = ".before-pull"  # the copies a pull replaces, kept until the new log verifies


def _move(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    os.replace(src, dst)


def _undo(out, rels, rejected=None):
    """Put the copies set aside back. With `rejected`, what the device sent is moved there."""
    aside = os.path.join(out, ASIDE)
    for rel in rels:
        local, old = os.path.join(out, rel), os.path.join(aside, rel)
        if os.path.exists(local) and rejected:
            _move(local, os.path.join(rejected, rel))
        if os.path.exists(old):
            _move(old, local)
    shutil.rmtree(aside, ignore_errors=True)


def _interrupted(out):
    """Files set aside by a pull that never finished: they are the last verified copies."""
    aside = os.path.join(out, ASIDE)
    rels = []
    for base, _, names in os.walk(aside):
        rels += [os.path.relpath(os.path.join(base, n), aside) for n in names]
    return rels


def _plain_name(name):
    """A bare file name (no folder, no .., no drive): what the device's log folders hold."""
    return isinstance(name, str) and name not in ("", ".", "..") and not any(c in name for c in "/\\:\0")


def cmd_pull(args):
    from doorstep_tools.verify import verify

    out = args.out
    if os.path.exists(out) and not os.path.isdir(out):
        raise DeviceError("%s is a file: give --out the folder that keeps this device's log (a new folder for a first pull)" % out)
    cable_only(args.device, "pull")
    dev, info = connected(args)
    if load_profiles().get(dev.name) is None:  # pinned below once its log verifies
        print("This PC has not pinned device %s yet: its key is pinned once its log verifies. Its fingerprint"
              " (compare it with the one noted when the doorbell was set up):\n  %s" % (info["dev"], fingerprint(info["pub"])))
    os.makedirs(out, exist_ok=True)
    _undo(out, _interrupted(out))
    # The pulled folder must belong to this device.
    dj = os.path.join(out, "device.json")
    if os.path.exists(dj):
        with open(dj) as f:
            have = json.load(f)
        if have.get("pub") != info["pub"]:
            raise DeviceError("%s holds records of device %s, not %s: pull into another folder" % (out, have.get("dev"), info["dev"]))
    man = dev.call("manifest")
    want = []
    for d in ("records", "photos", "quarantine"):
        for name, size in man[d]:
            if not _plain_name(name) or not isinstance(size, int):
                # Only a tampered device lists such a name: never write outside --out.
                raise DeviceError("the device listed %r in %s/, which is not a file name Doorstep writes;"
                                  " nothing was copied. Keep the device as it is: it may have been tampered with" % (name, d))
            rel = d + "/" + name
            local = os.path.join(out, rel)
            # Photos and closed segments never change: fetch what is new or has grown.
            if not os.path.exists(local) or os.path.getsize(local) != size:
                want.append(rel)
    # A log shortened or rewritten on the device must not replace the copy already here.
    for rel in want:
        if os.path.exists(os.path.join(out, rel)):
            _move(os.path.join(out, rel), os.path.join(out, ASIDE, rel))
    try:
        if want:
            print("Pulling %d new or grown file(s) from %s" % (len(want), info["dev"]))
            dev.fetch(want, out, _progress)
        else:
            print("Nothing new on the device.")
        head_path = os.path.join(out, "head.json")
        last = None
        if os.path.exists(head_path):
            with open(head_path) as f:
                last = json.load(f)
        res = verify(out, pub=bytes.fromhex(info["pub"]), head=last, keep_records=False)
    except BaseException:
        _undo(out, want)
        raise
    for f in res.findings:
        print(f)
    if not res.ok:
        rejected = os.path.join(out, "rejected", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
        _undo(out, want, rejected)
        sent = "; what the device sent is in %s" % rejected if want else ""
        print(
            "The log does NOT verify (%d problem(s), listed above). Your copy in %s is as it was before this pull%s. "
            "Nothing was changed on the device. Keep both as they are (they may be evidence) and pull a fresh copy "
            "into a new folder to compare: `doorstep pull --device %s --out NEW-FOLDER`." % (res.error_count, out, sent, args.device)
        )
        return 1
    shutil.rmtree(os.path.join(out, ASIDE), ignore_errors=True)
    with open(dj, "w") as f:
        json.dump({"pub": info["pub"], "dev": info["dev"]}, f)
    seq, h = res.head
    with open(head_path + ".tmp", "w") as f:
        json.dump({"seq": seq, "hash": h, "pulled_at": int(time.time())}, f)
    os.replace(head_path + ".tmp", head_path)
    dev.call("mark_pulled", seq, h)
    if load_profiles().get(dev.name) is None:
        save_profile(dev.name, {"pub": info["pub"], "dev": info["dev"], "pinned_at": int(time.time())})
        print("Pinned device %s in %s: later commands refuse a device with another key." % (info["dev"], profiles_path()))
    print("OK: %d records up to seq %d verified and saved in %s." % (res.count, seq, out))
    from doorstep_tools import tsa

    tsa.after_pull(out)  # an independent time for the new head, if a TSA is configured
    return 0


def cmd_ack(args):
    """Tell the doorbell that the copy in DIR holds its records, so it may prune them for space."""
    from doorstep_tools.verify import verify

    if not os.path.isdir(args.dir):
        raise DeviceError("%s is not a folder: give the folder `doorstep pull` or `doorstep collect` keeps" % args.dir)
    dev, info = connected(args)
    head = None
    if os.path.exists(os.path.join(args.dir, "head.json")):
        with open(os.path.join(args.dir, "head.json")) as f:
            head = json.load(f)
    res = verify(args.dir, pub=bytes.fromhex(info["pub"]), head=head, keep_records=False)
    if not res.ok:
        raise DeviceError("the copy in %s does not verify (%d problem(s); `doorstep verify %s` lists them): nothing was"
                          " acknowledged, and the doorbell keeps everything" % (args.dir, res.error_count, args.dir))
    seq, h = res.head
    dev.call("mark_pulled", seq, h)
    print("The doorbell knows your copy in %s holds its records up to seq %d: it may free them when its flash runs short." % (args.dir, seq))
    return 0


def add_parser(sub):
    device = add_device_args

    ak = sub.add_parser("ack", help="tell the doorbell a verified copy holds its records (so it may prune them)")
    ak.add_argument("dir", help="the folder `doorstep pull` or `doorstep collect` keeps")
    device(ak, True)
    ak.set_defaults(func=guard(cmd_ack))

    pl = sub.add_parser("pull", help="copy new records and photos from the device and verify them")
    device(pl, True)
    pl.add_argument("--out", required=True, help="the folder that keeps this device's log")
    pl.set_defaults(func=guard(cmd_pull))
