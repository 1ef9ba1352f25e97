"""Host-side tools for Doorstep (the homeowner's `doorstep` command and the simulator)."""
