"""The sub-commands of ``scripts/bench.py``: one module per path, each measured with its limit."""
