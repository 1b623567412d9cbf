"""Sync: what a technician's phone downloads.

It owns the per-technician feed written in commit order (:mod:`.feed`), the delta pull that
turns the feed after a cursor into job documents (:mod:`.pull`), and the job documents and
action results as devices see them (:mod:`.documents`).
"""
