"""The worker tasks the web side enqueues by name exist in ``workers``."""

from __future__ import annotations

import importlib

from portal.integrations.queue import Task


def test_every_task_name_is_a_worker_function():
    names = [v for k, v in vars(Task).items() if k.isupper()]
    assert names
    for name in names:
        module, _, function = name.rpartition(".")
        assert module.startswith("workers.")
        assert callable(getattr(importlib.import_module(module), function)), name
