"""Doorstep's signing code as it was before issue 16 (commit 288b7ee): `make bench` runs it
beside the current firmware in the same VM, to print the two side by side. Not firmware."""
