"""Local time across daylight saving: the board's day, a typed time in the gap or the overlap.

Europe/Amsterdam and America/New_York, on both of their clock changes. The dates of the
arithmetic tests are fixed; the form tests find the next clock changes, so that their times
stay in the future (a start in the past asks for a confirmation of its own).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.domain import timezones, wallclock
from portal.models import Job, JobEvent

AMS, NYC = "Europe/Amsterdam", "America/New_York"
DST_DAYS = [
    (AMS, date(2026, 3, 29), 23, "forward", "2:00 AM", "3:00 AM"),
    (AMS, date(2026, 10, 25), 25, "back", "3:00 AM", "2:00 AM"),
    (NYC, date(2026, 3, 8), 23, "forward", "2:00 AM", "3:00 AM"),
    (NYC, date(2026, 11, 1), 25, "back", "2:00 AM", "1:00 AM"),
]


def text(response) -> str:
    """The page's HTML with CLDR's narrow and no-break spaces as plain ones (2:00 AM)."""
    return response.get_data(as_text=True).replace("\u202f", " ").replace("\u00a0", " ")


def next_change(zone: str, hours: int) -> date:
    """Return the next local day of ``zone`` that lasts ``hours`` hours (23 or 25)."""
    tz = ZoneInfo(zone)
    day = datetime.now(UTC).astimezone(tz).date() + timedelta(days=1)
    for _ in range(400):
        start, end = wallclock.day_bounds(day, tz)
        if (end - start) == timedelta(hours=hours):
            return day
        day += timedelta(days=1)
    raise AssertionError(f"{zone} has no {hours}-hour day within a year")


@pytest.fixture
def company_in(db, make_user):
    def set_zone(name: str) -> None:
        timezones.set_company_zone(name, None)
        db.session.commit()

    return set_zone


# --- the arithmetic ----------------------------------------------------------------------------


@pytest.mark.parametrize(("zone", "day", "hours", "way", "was", "now"), DST_DAYS)
def test_a_dst_day_runs_local_midnight_to_midnight(app, zone, day, hours, way, was, now):
    tz = ZoneInfo(zone)
    start, end = wallclock.day_bounds(day, tz)
    assert start.astimezone(tz).replace(tzinfo=None) == datetime.combine(day, datetime.min.time())
    assert end.astimezone(tz).date() == day + timedelta(days=1) and end.astimezone(tz).hour == 0
    assert end - start == timedelta(hours=hours)
    (shift,) = wallclock.shifts_between(start, end, tz)
    assert shift.forward is (way == "forward")


def test_a_time_in_the_spring_forward_gap_does_not_exist(app):
    with pytest.raises(wallclock.NonexistentTimeError) as caught:
        wallclock.from_local(datetime(2026, 3, 29, 2, 30), ZoneInfo(AMS), "scheduled_start")
    gap = caught.value.gap
    assert (gap.starts, gap.ends) == (datetime(2026, 3, 29, 2, 0), datetime(2026, 3, 29, 3, 0))
    assert caught.value.field == "scheduled_start"
    assert "02:00 to 03:00" in caught.value.message
    with pytest.raises(wallclock.NonexistentTimeError):
        wallclock.from_local(datetime(2026, 3, 8, 2, 0), ZoneInfo(NYC))
    # Either side of the gap is a time like any other.
    assert wallclock.from_local(datetime(2026, 3, 8, 3, 0), ZoneInfo(NYC)) == datetime(
        2026, 3, 8, 7, 0, tzinfo=UTC
    )
    assert wallclock.from_local(datetime(2026, 3, 29, 1, 59), ZoneInfo(AMS)) == datetime(
        2026, 3, 29, 0, 59, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("zone", "local", "first", "second"),
    [
        (AMS, datetime(2026, 10, 25, 2, 30), "2026-10-25T00:30", "2026-10-25T01:30"),
        (NYC, datetime(2026, 11, 1, 1, 30), "2026-11-01T05:30", "2026-11-01T06:30"),
    ],
)
def test_a_time_in_the_fall_back_overlap_is_its_first_occurrence(app, zone, local, first, second):
    tz = ZoneInfo(zone)
    moment = wallclock.from_local(local, tz)
    assert moment.isoformat() == first + ":00+00:00"
    assert wallclock.is_ambiguous(moment, tz)
    # The second occurrence reads the same on the wall; it is an hour later.
    later = datetime.fromisoformat(second).replace(tzinfo=UTC)
    assert later.astimezone(tz).replace(tzinfo=None) == local and wallclock.is_ambiguous(later, tz)
    assert not wallclock.is_ambiguous(moment - timedelta(hours=2), tz)


def test_a_zone_that_skips_midnight_starts_its_day_after_the_gap(app):
    tz = ZoneInfo("America/Santiago")  # clocks go from 00:00 to 01:00
    start, end = wallclock.day_bounds(date(2026, 9, 6), tz)
    assert start.astimezone(tz).hour == 1 and end - start == timedelta(hours=23)


# --- the day board of a DST day ----------------------------------------------------------------


def _hours(html: str) -> list[tuple[float, str]]:
    """Return the board's axis: (left %, label with the zone where the clocks changed)."""
    axis = html.split('class="lane board-axis"', 1)[1].split("</div>\n  </div>", 1)[0]
    found = re.findall(r'class="hour" style="left: ([\d.]+)%">(.*?)</span>', axis)
    return [
        (float(left), " ".join(re.sub(r"<[^>]+>", " ", label).split())) for left, label in found
    ]


@pytest.mark.parametrize(("zone", "day", "hours", "way", "was", "now"), DST_DAYS)
def test_the_board_of_a_dst_day_has_its_true_hours(
    client, dispatcher, company_in, make_job, db, zone, day, hours, way, was, now
):
    company_in(AMS)
    dispatcher.timezone = zone  # a New York dispatcher sees New York's day
    db.session.commit()
    tz = ZoneInfo(zone)

    def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
        local = datetime.combine(day + timedelta(days=days), datetime.min.time())
        return wallclock.from_local(local.replace(hour=hour, minute=minute), tz)

    early = make_job("Night shift", scheduled_start=at(0, 30), scheduled_end=at(1, 30))
    noon = make_job("Lunch call", scheduled_start=at(12), scheduled_end=at(13))
    late = make_job("Late call", scheduled_start=at(23, 0), scheduled_end=at(23, 45))
    tomorrow = make_job("Tomorrow", scheduled_start=at(0, 30, days=1))
    html = text(client.get(f"/board?day={day.isoformat()}"))

    assert f'data-hours="{float(hours)}"' in html
    assert f"This day has {hours} hours: the clocks go {way} from {was} to {now}." in html
    for job in (early, noon, late):
        assert f'data-job-id="{job.id}"' in html
    assert f'data-job-id="{tomorrow.id}"' not in html
    axis = _hours(html)
    labels = [label for _, label in axis]
    assert len(axis) == hours  # the late job stretches the axis to the day's end
    if way == "forward":
        assert "2 AM" not in labels and f"3 AM {'EDT' if zone == NYC else 'CEST'}" in labels
    else:
        repeated = "1 AM" if zone == NYC else "2 AM"
        assert (
            labels.count(repeated) == 1
            and f"{repeated} {'EST' if zone == NYC else 'CET'}" in labels
        )
    # A card starts where its local hour is drawn: noon sits on the 12 PM line.
    noon_left = next(left for left, label in axis if label == "12 PM")
    card = re.search(rf'data-job-id="{noon.id}"[^>]*\n?\s*style="left: ([\d.]+)%', html)
    assert card and abs(float(card.group(1)) - noon_left) < 0.01


# --- typed times: the gap and the overlap in the forms -----------------------------------------


@pytest.mark.parametrize("zone", [AMS, NYC])
def test_a_form_time_in_the_gap_is_an_error_that_names_it(client, dispatcher, company_in, db, zone):
    company_in(zone)
    day = next_change(zone, 23)
    response = client.post_form(
        "/jobs/new",
        {"title": "Boiler service", "scheduled_start": f"{day.isoformat()}T02:30"},
    )
    assert response.status_code == 422
    html = text(response)
    assert (
        f"There is no 2:30 AM on {day.strftime('%a, %b')} {day.day}, {day.year} in {zone}" in html
    )
    assert "the clocks go forward from 2:00 AM to 3:00 AM" in html
    assert 'value="' + f"{day.isoformat()}T02:30" + '"' in html  # what was typed stays
    assert db.session.scalar(select(Job.id)) is None


@pytest.mark.parametrize("zone", [AMS, NYC])
def test_a_form_time_in_the_overlap_is_the_first_and_shows_its_offset(
    client, dispatcher, company_in, db, zone
):
    company_in(zone)
    day = next_change(zone, 25)
    clock = "02:30" if zone == AMS else "01:30"
    response = client.post_form(
        "/jobs/new", {"title": "Night call", "scheduled_start": f"{day.isoformat()}T{clock}"}
    )
    assert response.status_code == 302
    job = db.session.scalar(select(Job))
    tz = ZoneInfo(zone)
    first = datetime.combine(day, datetime.strptime(clock, "%H:%M").time()).replace(tzinfo=tz)
    assert job.scheduled_start == first.astimezone(UTC)  # fold 0: the earlier instant
    summer = "+02:00" if zone == AMS else "-04:00"
    page = text(client.get(f"/jobs/{job.id}"))
    assert f"{clock.lstrip('0')} AM ({summer})" in page
    edit = text(client.get(f"/jobs/{job.id}/edit"))
    assert (
        "happens twice" in edit and f"This is the first {clock.lstrip('0')} AM, at {summer}" in edit
    )


def test_a_reschedule_into_the_gap_keeps_the_job_and_says_why(
    client, dispatcher, company_in, make_job, db
):
    company_in(AMS)
    job = make_job("Boiler service")
    before = job.scheduled_start
    day = next_change(AMS, 23)
    response = client.post_form(
        f"/jobs/{job.id}/schedule",
        {"scheduled_start": f"{day.isoformat()}T02:15", "version": str(job.version)},
    )
    assert response.status_code == 422
    assert "the clocks go forward from 2:00 AM to 3:00 AM" in text(response)
    db.session.expire_all()
    assert db.session.get(Job, job.id).scheduled_start == before


def test_times_are_stored_and_recorded_in_utc_whatever_zone_they_came_in(
    app, company_in, make_job, db
):
    company_in(AMS)
    start = datetime(2030, 1, 1, 9, tzinfo=ZoneInfo(AMS))
    job = make_job("Boiler service", scheduled_start=start, scheduled_end=None)
    db.session.expire_all()
    assert db.session.get(Job, job.id).scheduled_start == datetime(2030, 1, 1, 8, tzinfo=UTC)
    created = db.session.scalar(select(JobEvent).where(JobEvent.job_id == job.id))
    assert created.changes["scheduled_start"][1] == "2030-01-01T08:00:00+00:00"
