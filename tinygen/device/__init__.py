"""Talking to built firmware: serial protocol, QEMU runner, serial ports, validation, flashing."""
