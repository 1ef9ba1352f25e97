"""Fake micropython-lib umqtt package for host tests (only .simple is faked)."""
