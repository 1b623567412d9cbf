"""Adapters to the outside: the task queue, Socket.IO fan-out, FCM."""
