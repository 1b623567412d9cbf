"""Push notifications: waking a technician's phone when their jobs change.

It owns deciding which change wakes which device and coalescing a burst into one push per
device, written to the push log in the change's transaction (:mod:`.triggers`), and sending
the pushes from that log with retries and token clean-up (:mod:`.sender`).
"""
