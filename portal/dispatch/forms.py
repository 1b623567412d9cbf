"""Forms of the dispatcher pages; times are entered and shown in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateTimeLocalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal import params

TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


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
    scheduled_start = DateTimeLocalField(
        "Scheduled start (UTC)", format=TIME_FORMATS, validators=[Optional()]
    )
    scheduled_end = DateTimeLocalField(
        "Scheduled end (UTC)", format=TIME_FORMATS, validators=[Optional()]
    )
    assignee = SelectField("Technician", coerce=_optional_int, validate_choice=False)
    version = HiddenField()

    def job_fields(self) -> dict:
        """Return the editable job fields, times made aware (UTC)."""
        return {
            "title": self.title.data or "",
            "customer": self.customer.data or "",
            "address": self.address.data or "",
            "description": self.description.data or "",
            "scheduled_start": aware(self.scheduled_start.data),
            "scheduled_end": aware(self.scheduled_end.data),
        }


class ScheduleForm(FlaskForm):
    scheduled_start = DateTimeLocalField(
        "Start (UTC)", format=TIME_FORMATS, validators=[Optional()]
    )
    scheduled_end = DateTimeLocalField("End (UTC)", format=TIME_FORMATS, validators=[Optional()])
    version = HiddenField()


class AttachmentForm(FlaskForm):
    file = FileField("File", validators=[FileRequired("Choose a file to attach.")])


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to import.")])


def aware(value: datetime | None) -> datetime | None:
    """Treat a time typed into the form as UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def version_of(raw) -> int | None:
    """Return the posted version, or None when the form carried none."""
    return params.whole(raw, minimum=0)
