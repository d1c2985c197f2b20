"""Boards: virtual boards, where boards are found, firmware builds, flashing, reading logs."""
