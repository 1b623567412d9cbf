"""Domain services: the rules of Fieldsync. Never imports request, session or a blueprint.

Blueprints, the API and workers call these modules; they use ``portal.models`` and
``portal.integrations`` and nothing above. Flat modules hold one area each (``jobs`` is the
one writer of jobs; ``accounts``, ``devices``, ``files``, ``imports``, ``transitions``,
``timezones``, ``retention``, ``health`` ...); the device-facing flows are packages:
``inbox`` (uploaded actions to outcomes), ``sync`` (the feed and the delta pull) and ``push``
(which change wakes which phone, and sending it).
"""
