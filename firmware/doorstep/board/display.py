"""The door's SSD1306 128x64 OLED on I2C, through micropython-lib's own `ssd1306` driver.

The driver is not part of Doorstep: `doorstep deploy` installs it with mip when the board
profile has a display (board.display), and this module only opens it. What is drawn comes
from doorstep/screen.py (fill, text, show), so the words on the host are the words here.

The display shares the PCF8574 keypad's I2C bus when board.pins.oled_sda/oled_scl are not
given (different addresses: 0x3C/0x3D against 0x20-0x27/0x38-0x3F), else it gets its own
bit-banged bus on those pins. A display that does not answer is reported and the door runs
without it (and without handovers: a code must never be "shown" on nothing).
"""

WIDTH = 128
HEIGHT = 64


def open_display(hw, i2c=None, driver=None):
    """The ssd1306.SSD1306_I2C for a resolved profile (profiles.resolve), on i2c (a shared
    bus) or on a new SoftI2C on oled_sda/oled_scl. driver: the ssd1306 module (tests)."""
    if driver is None:
        import ssd1306 as driver  # type: ignore  # micropython-lib, installed by `doorstep deploy`
    if i2c is None:
        import machine

        Pin = machine.Pin
        i2c = machine.SoftI2C(scl=Pin(hw["oled_scl"]), sda=Pin(hw["oled_sda"]), freq=hw["i2c_hz"])
    return driver.SSD1306_I2C(WIDTH, HEIGHT, i2c, hw["display_addr"])
