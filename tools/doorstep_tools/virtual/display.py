"""A virtual SSD1306: the drawing calls of micropython-lib's ssd1306, kept as lines of text.

The firmware draws with fill/text/show exactly as on the board; show() makes what was drawn
the visible lines, which the simulator prints and tests read.
"""


class VirtualDisplay:
    width = 128
    height = 64

    def __init__(self):
        self._draw = {}  # row -> text in the frame buffer (y // 8)
        self.lines = []  # what the display shows since the last show()
        self.on = True
        self.shows = 0
        self.on_show = None  # the simulator's hook: called with the new lines

    def fill(self, c):
        self._draw = {}

    def text(self, s, x, y, c=1):
        self._draw[y // 8] = s

    def show(self):
        rows = sorted(self._draw)
        self.lines = [self._draw[r] for r in rows] if rows else []
        self.shows += 1
        if self.on_show:
            self.on_show(list(self.lines))

    def poweroff(self):
        self.on = False

    def poweron(self):
        self.on = True

    def shown(self):
        return " / ".join(self.lines)
