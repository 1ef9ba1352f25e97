"""Presence evidence wired into the app at boot (issue 14): photos taken at the moment of
the event (shots.py), the motion sensor (motion.py), the camera's liveness (liveness.py) and
snapshots on request (snapshot.py). App.step polls app.sensors each pass."""

from doorstep import liveness, motion
from doorstep.shots import Shots, recover
from doorstep.snapshot import Snapshots


def attach(app):
    app.shots = Shots(app.storage, app.board.camera, app.rec.dev, app.boot_no, app.uptime, app.clock,
                      app.cfg["photo_timeout_ms"])
    recover(app.storage, app.emit)  # frames a power cut left without their record
    app.motion = motion.attach(app)  # None without a PIR
    app.sensors = [s for s in (app.motion, liveness.attach(app)) if s is not None]
    app.snapshots = Snapshots(app.emit)
    app.door.budget.kinds[("snapshot", None)] = "snapshot"  # no room on flash: counted, not written
