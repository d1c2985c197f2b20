"""Durable device state: see firmware.store.durable and docs/storage.md."""
