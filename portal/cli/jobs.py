"""``jobs import FILE.csv``: create or update jobs by reference."""

from __future__ import annotations

import click

jobs_cli = click.Group("jobs", help="Bulk operations on jobs.")
