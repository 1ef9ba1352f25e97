"""Presence evidence wired into the app at boot (issue 14): photos taken at the moment of
the event (shots.py), the motion sensor (motion.py), the camera's liveness (liveness.py) and
snapshots on request (snapshot.py). App.step polls app.sensors each pass.
A doorbell with no motion sensor and no camera motion loads none of motion's code."""

from doorstep import liveness
from doorstep.shots import Shots, recover
from doorstep.snapshot import Snapshots


def attach(app):
    app.shots = Shots(app.storage, app.board.camera, app.rec.dev, app.boot_no, app.uptime, app.clock,
                      app.cfg["photo_timeout_ms"])
    recover(app.storage, app.emit)  # frames a power cut left without their record
    watch = liveness.attach(app)
    app.motion = None
    if getattr(app.board, "pir", None) is not None:
        from doorstep import motion

        app.motion = motion.attach(app)
    elif app.cfg.get("camera_motion_s"):
        from doorstep import camotion

        app.motion = camotion.attach(app, watch)  # the camera watches for movement instead
    app.sensors = [s for s in (app.motion, watch) if s is not None]
    app.snapshots = Snapshots(app.emit)
    app.door.budget.kinds[("snapshot", None)] = "snapshot"  # no room on flash: counted, not written
