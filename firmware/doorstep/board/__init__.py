"""The real ESP32 hardware behind the interface doorstep.app expects of a board.

Only this package (and boot.py/main.py) imports machine, network, esp32, camera and
ntptime. Each module does one job and takes its hardware already made, so the logic
runs on the host with fake pins:

* profiles  -- board profiles and the pin check at boot (pure, also used on the host)
* matrix    -- keypad backends: GPIO matrix and PCF8574 I2C expander -> bitmask
* inputs    -- debounced bell button and intercom line
* feedback  -- LED and buzzer patterns, played by an asyncio task
* cam       -- the camera driver (micropython-camera-API) behind async capture()
* mic       -- optional I2S microphone -> int16 blocks for the DTMF detector
* clock     -- machine.RTC with a time quality that survives a reboot
* net       -- Wi-Fi station with back-off, and NTP without blocking the door
* esp32     -- the Board object and build(): the only place pins become objects
* startup   -- what boot.py and main.py do: safe mode, lock-down, run the app
"""
