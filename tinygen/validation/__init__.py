"""Bit-exact validation against the numpy reference: one core (core.py) and its drivers
(host.py here; the firmware over QEMU or a board in tinygen/device/validate.py)."""
