"""Durable device state (issue 2 item 7): see firmware.store.durable and docs/storage.md."""
