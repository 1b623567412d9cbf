"""``jobs import FILE.csv``: create or update jobs by reference, with a progress bar."""

from __future__ import annotations

import click
from tqdm import tqdm

from portal.domain import accounts, import_file, imports
from portal.domain import jobs as job_ops
from portal.extensions import db, sqlite_writer

jobs_cli = click.Group("jobs", help="Bulk operations on jobs.")


@jobs_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "as_email", default="", help="Record the import under this portal user.")
@click.option("--batch", default=500, show_default=True, help="Commit after this many rows.")
def import_jobs(file: str, as_email: str, batch: int) -> None:
    """Create or update jobs from FILE.csv (columns: reference,title,description,customer,
    address,scheduled_start,scheduled_end,assignee_email).

    Times are ISO 8601. A time without an offset (2026-05-04T09:00) is read in the company's
    time zone, as set on the portal's configuration page (else FIELDSYNC_TIMEZONE, else UTC);
    a time with an offset (2026-05-04T09:00+02:00, or Z for +00:00) keeps it. A time the clocks
    skip when daylight saving starts is a bad row; one they repeat when it ends means the first.

    Bad rows are listed with their line number and reason and the command exits with
    status 1; the good rows are imported all the same.
    """
    sqlite_writer.set(True)
    user = None
    if as_email:
        user = accounts.find_user(as_email)
        if user is None or user.is_technician:
            raise click.ClickException(f"No portal user has the email {as_email}.")
    try:
        # A first pass checks the whole file and counts its rows (the progress bar's total)
        # before anything is written; the second streams it, so memory stays flat.
        with open(file, encoding="utf-8-sig", newline="") as fh:
            total = sum(1 for _ in import_file.iter_csv(fh))
        actor = job_ops.Actor(user, job_ops.Origin.IMPORT)
        with (
            open(file, encoding="utf-8-sig", newline="") as fh,
            tqdm(total=total, unit="row", desc="Importing", dynamic_ncols=True) as bar,
        ):
            result = imports.import_rows(
                import_file.iter_csv(fh), actor, progress=bar.update, commit_every=max(1, batch)
            )
            db.session.commit()
    except UnicodeDecodeError:
        raise click.ClickException("The file is not UTF-8 text.") from None
    except import_file.ImportFileError as exc:
        raise click.ClickException(str(exc)) from None
    for error in result.errors:
        click.echo(f"  {error}", err=True)
    click.echo(
        f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged, "
        f"{len(result.errors)} bad row{'s' if len(result.errors) != 1 else ''}."
    )
    if result.errors:
        raise SystemExit(1)
