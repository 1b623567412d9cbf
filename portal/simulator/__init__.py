"""A reference device client in Python: what the phone app does, used by tests and tools."""

from portal.simulator.client import DeviceClient, SyncReport

__all__ = ["DeviceClient", "SyncReport"]
