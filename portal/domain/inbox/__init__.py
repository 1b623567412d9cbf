"""The inbox: device actions from upload to outcome.

It owns storing an uploaded batch idempotently (:mod:`.store`), processing each job's line of
actions strictly in order and exactly once (:mod:`.processor`), applying one action through the
job services as the technician (:mod:`.apply`), the audited repairs a person makes to a line
(:mod:`.repair`), the periodic checker and cleaner (:mod:`.maintenance`), and the read side the
inbox pages show (:mod:`.queries`).
"""
