"""Forms of the dispatcher pages; times are entered and shown in the viewer's own zone."""

from __future__ import annotations

from datetime import datetime

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from portal import localtime, params
from portal.domain import wallclock
from portal.models import utcnow

TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class LocalDateTimeField(DateTimeLocalField):
    """A wall-clock time typed in the viewer's zone; ``data`` is the instant, in UTC.

    A time the clocks skip (spring forward) is a field error naming the gap; a time they
    repeat (fall back) is its first occurrence, and ``overlap_note`` says so.
    """

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=TIME_FORMATS, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is None:
            return
        try:
            self.data = wallclock.from_local(self.data, localtime.viewer_zone(), self.name)
        except wallclock.NonexistentTimeError as exc:
            self.data = None
            raise ValueError(gap_message(exc)) from None

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        return localtime.input_value(self.data)

    @property
    def overlap_note(self) -> str | None:
        """Say which of a repeated wall-clock time this is, when it is one."""
        if self.data is None or self.errors:
            return None
        moment = localtime.local(self.data)
        if not wallclock.is_ambiguous(moment, localtime.zone_of(moment)):
            return None
        clock = localtime.fmt_time(self.data).rsplit(" (", 1)[0]
        return (
            f"{clock} happens twice on {localtime.fmt_date(self.data)}: the clocks go back "
            f"that night. This is the first {clock}, at {localtime.offset_text(moment)} "
            f"({moment.tzname()})."
        )


def gap_message(exc: wallclock.NonexistentTimeError) -> str:
    """Say, in the viewer's date format, that a typed time falls in a daylight-saving gap."""
    starts, ends = localtime.fmt_clock(exc.gap.starts), localtime.fmt_clock(exc.gap.ends)
    return (
        f"There is no {localtime.fmt_clock(exc.local)} on {localtime.fmt_date(exc.local.date())} "
        f"in {exc.gap.zone}: the clocks go forward from {starts} to {ends}. "
        f"Pick a time before {starts} or from {ends} on."
    )


def _optional_int(value) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)


class JobForm(FlaskForm):
    """Every field a dispatcher sets on a job; ``version`` guards against stale saves."""

    title = StringField("Title", validators=[DataRequired("A job needs a title."), Length(max=200)])
    customer = StringField("Customer", validators=[Length(max=200)])
    address = StringField("Address", validators=[Length(max=400)])
    description = TextAreaField("Description", validators=[Length(max=20000)])
    scheduled_start = LocalDateTimeField("Scheduled start", validators=[Optional()])
    scheduled_end = LocalDateTimeField("Scheduled end", validators=[Optional()])
    assignee = SelectField("Technician", coerce=_optional_int, validate_choice=False)
    version = HiddenField()
    confirm_past = BooleanField("Yes, schedule it in the past")

    def job_fields(self) -> dict:
        """Return the editable job fields (times as UTC instants)."""
        return {
            "title": self.title.data or "",
            "customer": self.customer.data or "",
            "address": self.address.data or "",
            "description": self.description.data or "",
            "scheduled_start": self.scheduled_start.data,
            "scheduled_end": self.scheduled_end.data,
        }


class ScheduleForm(FlaskForm):
    scheduled_start = LocalDateTimeField("Start", validators=[Optional()])
    scheduled_end = LocalDateTimeField("End", validators=[Optional()])
    version = HiddenField()
    confirm_past = BooleanField("Yes, schedule it in the past")


def past_warning(form: JobForm | ScheduleForm, current: datetime | None) -> str | None:
    """Return a warning when the form moves the start into the past and nobody confirmed it.

    A start the job already had (an edit of other fields) is not warned about again.
    """
    start = form.scheduled_start.data
    if start is None or form.confirm_past.data or start == current:
        return None
    if start >= utcnow().replace(second=0, microsecond=0):
        return None
    return (
        f"The start, {localtime.fmt_when(start)}, is in the past. Check the date, or tick "
        "the box below and save again to schedule the job in the past."
    )


class AttachmentForm(FlaskForm):
    file = FileField("File", validators=[FileRequired("Choose a file to attach.")])


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to import.")])


def version_of(raw) -> int | None:
    """Return the posted version, or None when the form carried none."""
    return params.whole(raw, minimum=0)
