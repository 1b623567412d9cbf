"""``simulate``: drive reference device clients against a running server."""

from __future__ import annotations

import click


@click.command("simulate")
def simulate() -> None:
    """Drive simulated technicians' devices against a running server."""
    raise click.ClickException("The device simulator is not available in this build.")
