"""Host-side tools for Doorstep (the homeowner's `doorstep` command and the simulator).

The simulator and the tools run the firmware's own modules: firmware/ of this checkout
is put on the import path (tools are installed editable by `make setup`).
"""

import os
import sys

FIRMWARE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "firmware")
if os.path.isdir(FIRMWARE) and FIRMWARE not in sys.path:
    sys.path.insert(0, FIRMWARE)
