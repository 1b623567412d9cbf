"""Pages in the viewer's own time: what they show and take, in whose zone, in which format."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.domain import timezones
from portal.models import Job, utcnow
from tests.dispatch.conftest import completed_note
from tests.dispatch.test_timezones import text

AMS, CHI, TYO = "Europe/Amsterdam", "America/Chicago", "Asia/Tokyo"


@pytest.fixture
def company_in(db):
    def set_zone(name: str) -> None:
        timezones.set_company_zone(name, None)
        db.session.commit()

    return set_zone


def visible(response) -> str:
    """The text a person reads on the page (no tags, scripts or attribute values)."""
    html = text(response)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_times_show_in_the_company_zone_or_the_viewers_own(
    client, dispatcher, company_in, make_job, db
):
    company_in(AMS)
    start = datetime(2030, 6, 3, 7, 0, tzinfo=UTC)  # 09:00 in Amsterdam, 02:00 in Chicago
    job = make_job(
        "Boiler service", scheduled_start=start, scheduled_end=start + timedelta(hours=2)
    )
    page = visible(client.get(f"/jobs/{job.id}"))
    assert "Mon, Jun 3, 2030, 9:00 AM – 11:00 AM CEST" in page
    assert "Mon, Jun 3, 2030, 9:00 AM – 11:00 AM" in visible(client.get("/jobs"))
    dispatcher.timezone = CHI
    db.session.commit()
    page = visible(client.get(f"/jobs/{job.id}"))
    assert "Mon, Jun 3, 2030, 2:00 AM – 4:00 AM CDT" in page
    assert "America/Chicago · CDT" in page or "America/Chicago · CST" in page  # the top bar


def test_lists_say_today_and_yesterday_in_the_viewers_zone(
    client, dispatcher, company_in, make_job, db
):
    company_in(AMS)
    dispatcher.timezone = TYO
    db.session.commit()
    tokyo = ZoneInfo(TYO)
    today = utcnow().astimezone(tokyo).date()
    at = lambda day, hour: datetime.combine(day, datetime.min.time()).replace(  # noqa: E731
        hour=hour, tzinfo=tokyo
    )
    make_job("Morning", scheduled_start=at(today, 8), scheduled_end=at(today, 9))
    make_job("Evening", scheduled_start=at(today - timedelta(days=1), 22), scheduled_end=None)
    make_job("Next", scheduled_start=at(today + timedelta(days=1), 7), scheduled_end=None)
    page = visible(client.get("/jobs"))
    assert "Today, 8:00 AM – 9:00 AM" in page
    assert "Yesterday, 10:00 PM" in page
    assert "Tomorrow, 7:00 AM" in page


def test_forms_take_wall_clock_time_in_the_viewers_zone(client, dispatcher, company_in, db):
    company_in(AMS)
    response = client.post_form(
        "/jobs/new",
        {"title": "Amsterdam", "scheduled_start": "2030-06-03T09:00", "scheduled_end": ""},
    )
    assert response.status_code == 302
    dispatcher.timezone = CHI
    db.session.commit()
    client.post_form("/jobs/new", {"title": "Chicago", "scheduled_start": "2030-06-03T09:00"})
    stored = dict(db.session.execute(select(Job.title, Job.scheduled_start)).all())
    assert stored["Amsterdam"] == datetime(2030, 6, 3, 7, 0, tzinfo=UTC)
    assert stored["Chicago"] == datetime(2030, 6, 3, 14, 0, tzinfo=UTC)
    # The edit form gives the time back as it was typed, in the viewer's zone.
    job = db.session.scalar(select(Job).where(Job.title == "Chicago"))
    assert 'value="2030-06-03T09:00"' in text(client.get(f"/jobs/{job.id}/edit"))


def test_a_start_in_the_past_asks_for_a_confirmation(client, dispatcher, company_in, db):
    company_in(AMS)
    yesterday = (utcnow() - timedelta(days=1)).astimezone(ZoneInfo(AMS))
    typed = f"{yesterday:%Y-%m-%d}T10:00"
    response = client.post_form("/jobs/new", {"title": "Late entry", "scheduled_start": typed})
    assert response.status_code == 422
    page = visible(response)
    assert "The start, Yesterday, 10:00 AM, is in the past." in page
    assert "Yes, schedule it in the past" in page
    assert db.session.scalar(select(Job.id)) is None
    response = client.post_form(
        "/jobs/new", {"title": "Late entry", "scheduled_start": typed, "confirm_past": "y"}
    )
    assert response.status_code == 302
    job = db.session.scalar(select(Job))
    # Editing something else of a job in the past asks nothing again.
    response = client.post_form(
        f"/jobs/{job.id}/edit",
        {
            "title": "Late entry (phoned)",
            "scheduled_start": typed,
            "version": str(job.version),
            "assignee": "",
        },
    )
    assert response.status_code == 302


def test_rescheduling_into_the_past_from_the_job_page_asks_too(
    client, dispatcher, company_in, make_job, db
):
    company_in(AMS)
    job = make_job(
        "Boiler service", scheduled_start=utcnow() + timedelta(days=2), scheduled_end=None
    )
    typed = f"{(utcnow() - timedelta(days=3)).astimezone(ZoneInfo(AMS)):%Y-%m-%d}T08:00"
    form = {"scheduled_start": typed, "version": str(job.version)}
    response = client.post_form(f"/jobs/{job.id}/schedule", form)
    assert response.status_code == 422
    assert "is in the past" in visible(response)
    assert f'value="{typed}"' in text(response)
    db.session.expire_all()
    assert db.session.get(Job, job.id).scheduled_start > utcnow()
    response = client.post_form(f"/jobs/{job.id}/schedule", {**form, "confirm_past": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Job, job.id).scheduled_start < utcnow()


def test_history_says_rescheduled_from_to(client, dispatcher, company_in, make_job, db):
    company_in(AMS)
    start = datetime(2030, 6, 3, 7, 0, tzinfo=UTC)
    job = make_job(
        "Boiler service", scheduled_start=start, scheduled_end=start + timedelta(hours=2)
    )
    client.post_form(
        f"/jobs/{job.id}/schedule",
        {
            "scheduled_start": "2030-06-04T13:00",
            "scheduled_end": "2030-06-04T15:00",
            "version": str(job.version),
        },
    )
    # Only the end moves: both ends are still told.
    db.session.expire_all()
    client.post_form(
        f"/jobs/{job.id}/schedule",
        {
            "scheduled_start": "2030-06-04T13:00",
            "scheduled_end": "2030-06-04T16:00",
            "version": str(db.session.get(Job, job.id).version),
        },
    )
    history = visible(client.get(f"/jobs/{job.id}")).split("History", 1)[1]
    assert (
        "rescheduled from Mon, Jun 3, 2030, 9:00 AM – 11:00 AM "
        "to Tue, Jun 4, 2030, 1:00 PM – 3:00 PM" in history
    )
    assert (
        "rescheduled from Tue, Jun 4, 2030, 1:00 PM – 3:00 PM "
        "to Tue, Jun 4, 2030, 1:00 PM – 4:00 PM" in history
    )
    assert "edited the job" not in history


def test_the_job_list_filters_by_the_viewers_local_days(
    client, dispatcher, company_in, make_job, db
):
    company_in(AMS)
    dispatcher.timezone = TYO
    db.session.commit()
    # 23:30 UTC on June 3 is 08:30 on June 4 in Tokyo.
    job = make_job(
        "Early", scheduled_start=datetime(2030, 6, 3, 23, 30, tzinfo=UTC), scheduled_end=None
    )
    on = text(client.get("/jobs?from=2030-06-04&to=2030-06-04"))
    off = text(client.get("/jobs?from=2030-06-03&to=2030-06-03"))
    assert f">{job.reference}</a>" in on and f">{job.reference}</a>" not in off


def test_the_inbox_date_filter_and_chart_use_local_days(
    client, login_as, company_in, make_user, db
):
    company_in(AMS)
    admin = login_as("admin")
    admin.timezone = TYO
    db.session.commit()
    tech = make_user("technician")
    tokyo = ZoneInfo(TYO)
    today = utcnow().astimezone(tokyo).date()
    # 00:30 in Tokyo today is still yesterday in UTC (and in Amsterdam).
    early = completed_note(
        db, tech, 1, datetime.combine(today, datetime.min.time()).replace(minute=30, tzinfo=tokyo)
    )
    late = completed_note(
        db,
        tech,
        2,
        datetime.combine(today, datetime.min.time()).replace(tzinfo=tokyo) - timedelta(minutes=30),
    )
    on_day = text(client.get(f"/inbox/?date_from={today}&date_to={today}"))
    assert f'id="msg-{early.id}"' in on_day and f'id="msg-{late.id}"' not in on_day
    day_before = today - timedelta(days=1)
    before = text(client.get(f"/inbox/?date_from={day_before}&date_to={day_before}"))
    assert f'id="msg-{late.id}"' in before and f'id="msg-{early.id}"' not in before
    # The chart's last bar is the viewer's today: one message.
    chart = text(client.get("/inbox/")).split('id="inbox-chart"', 1)[1].split("</svg>", 1)[0]
    bars = re.findall(r'<text[^>]*font-size="11" fill="#6b7385">(\d+)</text>', chart)
    assert bars[-2:] == ["1", "1"]


def test_no_page_mentions_utc_unless_it_is_the_zone(
    client, login_as, company_in, make_job, make_user, db
):
    company_in(AMS)
    login_as("support")
    tech = make_user("technician")
    job = make_job("Boiler service", assignee=tech)
    message = completed_note(db, tech, job.id, utcnow() - timedelta(hours=1))
    pages = [
        "/jobs",
        "/jobs/new",
        f"/jobs/{job.id}",
        f"/jobs/{job.id}/edit",
        "/board",
        "/technicians",
        "/jobs/import",
        "/inbox/",
        f"/inbox/messages/{message.id}",
        f"/inbox/jobs/{job.id}",
        "/admin/",
        "/admin/pushes",
        "/admin/status",
        "/admin/company",
        "/settings",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "UTC" not in visible(response), url
    company_in("UTC")
    assert "UTC" in visible(client.get(f"/jobs/{job.id}"))


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("en-US,en;q=0.9", "Mon, Jun 3, 2030, 9:00 AM"),
        ("en-GB", "Mon, 3 Jun 2030, 09:00"),
        ("nl-NL,nl;q=0.9", "Mon, 3 Jun 2030, 09:00"),
        ("ja-JP", "Mon, Jun 3, 2030, 9:00"),  # CLDR's English in Japan: 24-hour
    ],
)
def test_the_date_format_follows_the_browsers_language(
    client, dispatcher, company_in, make_job, language, shown
):
    company_in(AMS)
    job = make_job(
        "Boiler service", scheduled_start=datetime(2030, 6, 3, 7, tzinfo=UTC), scheduled_end=None
    )
    page = visible(client.get(f"/jobs/{job.id}", headers={"Accept-Language": language}))
    assert shown in page
    # Only the American reader gets a 12-hour clock.
    assert (re.search(r"\d AM\b", page) is not None) == language.startswith("en-US")


def test_my_settings_set_my_zone_and_date_format(client, dispatcher, company_in, make_job, db):
    company_in(AMS)
    job = make_job(
        "Boiler service", scheduled_start=datetime(2030, 6, 3, 7, tzinfo=UTC), scheduled_end=None
    )
    page = visible(client.get("/settings"))
    assert "The company's zone (Europe/Amsterdam)" in page
    bad = client.post_form("/settings", {"timezone": "Mars/Olympus", "locale": ""})
    assert bad.status_code == 422 and "'Mars/Olympus' is not a time zone" in visible(bad)
    response = client.post_form("/settings", {"timezone": TYO, "locale": "en_GB"})
    assert response.status_code == 302
    db.session.refresh(dispatcher)
    assert (dispatcher.timezone, dispatcher.locale) == (TYO, "en_GB")
    assert "Mon, 3 Jun 2030, 16:00 JST" in visible(client.get(f"/jobs/{job.id}"))
    # Back to the company's zone; the quick switch takes a zone and returns to the page.
    client.post_form("/settings", {"timezone": "", "locale": ""})
    db.session.refresh(dispatcher)
    assert dispatcher.timezone is None and dispatcher.locale is None
    response = client.post_form("/settings/timezone", {"timezone": CHI, "next": "/board"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/board")
    db.session.refresh(dispatcher)
    assert dispatcher.timezone == CHI


def test_the_company_zone_is_an_admin_setting(client, auth, db, app):
    assert timezones.company_zone_name() == app.config["FIELDSYNC_TIMEZONE"] == "UTC"
    auth.login_as("dispatcher")
    assert client.get("/admin/company").status_code == 403
    auth.logout()
    auth.login_as("admin")
    assert "FIELDSYNC_TIMEZONE" in visible(client.get("/admin/company"))
    bad = client.post_form("/admin/company", {"timezone": "Europe/Atlantis"})
    assert bad.status_code == 422
    assert client.post_form("/admin/company", {"timezone": AMS}).status_code == 302
    assert timezones.company_zone_name() == AMS
    assert "Europe/Amsterdam" in visible(client.get("/admin/"))


def test_fieldsync_timezone_is_checked_at_start_up(monkeypatch, tmp_path):
    from portal import config

    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("FIELDSYNC_TIMEZONE", "Europe/Amsterdam")
    assert config.load(str(tmp_path))["FIELDSYNC_TIMEZONE"] == "Europe/Amsterdam"
    monkeypatch.setenv("FIELDSYNC_TIMEZONE", "CEST+2")
    with pytest.raises(RuntimeError, match="FIELDSYNC_TIMEZONE"):
        config.load(str(tmp_path))
    monkeypatch.delenv("FIELDSYNC_TIMEZONE")
    assert config.load(str(tmp_path))["FIELDSYNC_TIMEZONE"] == "UTC"
