"""The device API speaks UTC and tells the device the company's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

from portal.domain import timezones


def test_sign_in_and_every_pull_tell_the_company_zone(app, sign_in, make_job, db, make_user):
    phone = sign_in()
    assert phone.pull()["timezone"] == "UTC"  # no admin setting, no FIELDSYNC_TIMEZONE
    timezones.set_company_zone("Europe/Amsterdam", None)
    db.session.commit()
    start = datetime(2030, 6, 3, 7, tzinfo=UTC)
    make_job(phone.technician, scheduled_start=start, scheduled_end=None)
    first = phone.pull()
    assert first["timezone"] == "Europe/Amsterdam"
    # Times stay UTC whatever the zone.
    assert first["jobs"][0]["scheduled_start"] == "2030-06-03T07:00:00+00:00"
    assert first["server_time"].endswith("+00:00")
    empty = phone.pull(first["cursor"])
    assert empty["jobs"] == [] and empty["timezone"] == "Europe/Amsterdam"
    tech = make_user("technician")
    answer = app.test_client().post(
        "/api/v1/auth/device",
        json={"email": tech.email, "password": "password123", "device_id": "tz-phone"},
    )
    assert answer.status_code == 200 and answer.get_json()["timezone"] == "Europe/Amsterdam"
