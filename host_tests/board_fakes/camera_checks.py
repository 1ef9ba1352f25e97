"""Checks of the camera's thumbnail switch (firmware/doorstep/board/cam.py) against the fake
driver: run under CPython and in a MicroPython VM like board_checks.py."""

import camera as fake_camera

from doorstep.board import cam


def _cam(frame_size="VGA", thumb_size="QVGA"):
    fake_camera.reset()
    drv = fake_camera.Camera(frame_size=getattr(fake_camera.FrameSize, frame_size))
    return drv, cam.Camera(drv, frame_size=frame_size, thumb_size=thumb_size)


async def check_thumbnail_is_taken_small_and_the_next_photo_full_size():
    VGA, QVGA = fake_camera.FrameSize.VGA, fake_camera.FrameSize.QVGA
    drv, c = _cam()
    f = await c.capture()
    assert len(f) == len(fake_camera.frame(0, VGA)) and not c.small
    f = await c.capture(small=True)
    assert c.small and drv.frame_size == QVGA
    # the two frames the buffers held from before the switch were thrown away
    assert drv.sizes[-3:] == [VGA, VGA, QVGA], drv.sizes
    assert bytes(f) == fake_camera.frame(drv.grabs, QVGA)
    f = await c.capture()
    assert not c.small and drv.frame_size == VGA and drv.sizes[-3:] == [QVGA, QVGA, VGA], drv.sizes
    assert bytes(f) == fake_camera.frame(drv.grabs, VGA)
    n = drv.grabs
    await c.capture()
    assert drv.grabs == n + 1, "no frame thrown away without a switch"


async def check_older_driver_switches_with_set_frame_size():
    drv, c = _cam()
    fake_camera.sim["resize"] = "method"
    f = await c.capture(small=True)
    assert c.small and len(f) == len(fake_camera.frame(0, fake_camera.FrameSize.QVGA))


async def check_driver_that_cannot_switch_keeps_full_frames():
    VGA = fake_camera.FrameSize.VGA
    drv, c = _cam()
    fake_camera.sim["resize"] = None
    f = await c.capture(small=True)
    assert not c.small and c.thumb_size is None and len(f) == len(fake_camera.frame(0, VGA))
    await c.capture(small=True)  # not tried again
    assert set(drv.sizes) == {VGA}


async def check_thumbnail_not_smaller_than_the_frame_is_a_full_frame():
    drv, c = _cam("QVGA", "CIF")
    assert c.thumb_size is None
    await c.capture(small=True)
    assert not c.small and set(drv.sizes) == {fake_camera.FrameSize.QVGA}


async def check_restarted_driver_gets_its_size_set_again():
    VGA = fake_camera.FrameSize.VGA
    drv, c = _cam()
    await c.capture(small=True)
    fake_camera.sim["mode"] = "fail"
    for _ in range(c.reinit_after):
        try:
            await c.capture()
        except OSError:
            pass
    assert drv.deinits == 1
    fake_camera.sim["mode"] = "ok"
    f = await c.capture()
    assert drv.frame_size == VGA and not c.small and len(f) == len(fake_camera.frame(0, VGA))


def check_board_camera_has_the_profiles_thumb_size():
    import machine

    from doorstep.board import hw as hwmod
    from doorstep.board import profiles

    machine.sim.reset()
    fake_camera.reset()
    hw = profiles.resolve({"profile": "freenove-s3", "thumb_size": "QQVGA"})
    board = hwmod.build({"board": {"profile": "freenove-s3", "thumb_size": "QQVGA"}}, hw, log=lambda m: None)
    assert board.camera.frame_size == "VGA" and board.camera.thumb_size == "QQVGA"
    try:
        profiles.resolve({"profile": "freenove-s3", "thumb_size": "96x96"})
        raise AssertionError("a frame size the driver does not have must be refused")
    except profiles.ConfigError as e:
        assert "thumb_size" in str(e)
