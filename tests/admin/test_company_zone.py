"""Two admins saving the company's first time zone at once: no error, one of them wins."""

from __future__ import annotations

import threading

from portal.domain import timezones
from portal.extensions import db as _db
from portal.extensions import sqlite_writer
from portal.models import CompanySetting


def test_two_admins_set_the_first_company_zone_at_once(app, db):
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def save(zone: str) -> None:
        with app.app_context():
            sqlite_writer.set(True)  # as a POST request does
            try:
                barrier.wait(5)
                timezones.set_company_zone(zone, None)
                _db.session.commit()
            except BaseException as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=save, args=(z,)) for z in ("Asia/Tokyo", "America/Lima")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    db.session.rollback()
    rows = db.session.query(CompanySetting).all()
    assert len(rows) == 1 and rows[0].value in ("Asia/Tokyo", "America/Lima")
    timezones.forget_cached_settings()
    assert timezones.company_zone_name() == rows[0].value
