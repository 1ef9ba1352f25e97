"""The simulator's camera picture: a rendered doorstep with the time on it, as a real JPEG."""

import io
from datetime import datetime, timezone

from PIL import Image, ImageDraw


def make_renderer(clock, size=(320, 240)):
    """A render(n, small=False) for VirtualCamera: frame n of the scene at the board clock's
    time (small: the thumbnail, half the width and height)."""

    def render(n, small=False):
        w, h = (size[0] // 2, size[1] // 2) if small else size
        img = Image.new("RGB", (w, h), (92, 110, 128))
        d = ImageDraw.Draw(img)
        d.rectangle([0, h * 2 // 3, w, h], fill=(120, 104, 86))  # the step
        d.rectangle([w // 3, h // 8, w * 2 // 3, h * 2 // 3], fill=(140, 60, 40))  # the door
        d.ellipse([w * 2 // 3 - 30, h // 2 - 8, w * 2 // 3 - 18, h // 2 + 4], fill=(220, 190, 60))
        x = 20 + (n * 37) % (w - 60)  # someone who moves a little between frames
        d.ellipse([x, h // 3, x + 30, h // 3 + 30], fill=(230, 200, 170))
        d.rectangle([x - 5, h // 3 + 30, x + 35, h * 2 // 3 + 20], fill=(40, 70, 140))
        t = clock.now()
        stamp = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if t is not None else "clock not set"
        d.rectangle([0, 0, w, 16], fill=(0, 0, 0))
        d.text((4, 2), "DOORSTEP SIM  %s  #%d" % (stamp, n), fill=(255, 255, 255))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=70)
        return buf.getvalue()

    return render
