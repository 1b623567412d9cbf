"""Configuration pages: status transitions, report fields, technician rights.

These are where an admin repairs the cause of a failed inbox action in place (a missing
transition, a field requirement, a right) before retrying it.
"""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import delete, func, select

from portal import params
from portal.admin import bp
from portal.extensions import db
from portal.models import (
    FieldType,
    ReportField,
    Right,
    Status,
    StatusTransition,
    TechnicianRight,
    User,
)

STATUSES = [s.value for s in Status]


@bp.route("/transitions", methods=["GET", "POST"])
def transitions():
    """List, add, change and remove the configured status transitions."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        op = request.form.get("op")
        if op == "add":
            a, b = request.form.get("from_status", ""), request.form.get("to_status", "")
            portal_only = request.form.get("portal_only") == "1"
            if a not in STATUSES:
                errors["from_status"] = "Choose a status."
            if b not in STATUSES:
                errors["to_status"] = "Choose a status."
            elif a == b:
                errors["to_status"] = "A transition goes to another status."
            elif db.session.scalar(
                select(StatusTransition).where(
                    StatusTransition.from_status == a, StatusTransition.to_status == b
                )
            ):
                errors["to_status"] = f"{a} → {b} is already configured."
            if not errors:
                db.session.add(
                    StatusTransition(from_status=a, to_status=b, portal_only=portal_only)
                )
                db.session.commit()
                flash(f"{a} → {b} is now allowed. Retry the failed actions it blocked.", "success")
                return redirect(url_for("admin.transitions"))
        elif op in ("delete", "toggle"):
            row = db.session.get(StatusTransition, params.whole(request.form.get("id")) or 0)
            if row is None:
                abort(404, "There is no such transition.")
            name = f"{row.from_status} → {row.to_status}"
            if op == "delete":
                db.session.delete(row)
                flash(f"{name} removed.", "success")
            else:
                row.portal_only = not row.portal_only
                flash(f"{name} updated.", "success")
            db.session.commit()
            return redirect(url_for("admin.transitions"))
    rows = db.session.scalars(select(StatusTransition)).all()
    order = {s: i for i, s in enumerate(STATUSES)}
    rows = sorted(rows, key=lambda r: (order.get(r.from_status, 99), order.get(r.to_status, 99)))
    return render_template(
        "admin/transitions.html", rows=rows, statuses=STATUSES, errors=errors, form=request.form
    ), (422 if errors else 200)


@bp.route("/report-fields", methods=["GET", "POST"])
def report_fields():
    """List, add, change and remove report fields and the status each is required for."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        op = request.form.get("op")
        if op == "delete":
            row = db.session.get(ReportField, params.whole(request.form.get("id")) or 0)
            if row is None:
                abort(404, "There is no such report field.")
            flash(f"Report field '{row.label}' removed.", "success")
            db.session.delete(row)
            db.session.commit()
            return redirect(url_for("admin.report_fields"))
        row = None
        if op == "save":
            row = db.session.get(ReportField, params.whole(request.form.get("id")) or 0)
            if row is None:
                abort(404, "There is no such report field.")
        key = (request.form.get("key") or (row.key if row else "")).strip()
        label = (request.form.get("label") or "").strip()
        kind = request.form.get("type") or (row.type if row else "text")
        required_for = request.form.get("required_for") or None
        if row is None and not re.fullmatch(r"[a-z][a-z0-9_]{0,59}", key):
            errors["key"] = "Use lowercase letters, digits and _ (starting with a letter)."
        elif row is None and db.session.scalar(select(ReportField).where(ReportField.key == key)):
            errors["key"] = f"A field '{key}' already exists."
        if not label or len(label) > 120:
            errors["label"] = "Give a label of at most 120 characters."
        if kind not in [t.value for t in FieldType]:
            errors["type"] = "Choose a type."
        if required_for is not None and required_for not in STATUSES:
            errors["required_for"] = "Choose a status or none."
        if not errors:
            if row is None:
                position = (db.session.scalar(select(func.max(ReportField.position))) or 0) + 1
                row = ReportField(key=key, position=position)
                db.session.add(row)
            row.label, row.type, row.required_for = label, kind, required_for
            db.session.commit()
            flash(f"Report field '{label}' saved.", "success")
            return redirect(url_for("admin.report_fields"))
    rows = db.session.scalars(select(ReportField).order_by(ReportField.position)).all()
    return render_template(
        "admin/report_fields.html",
        rows=rows,
        statuses=STATUSES,
        errors=errors,
        types=[t.value for t in FieldType],
        form=request.form,
    ), (422 if errors else 200)


@bp.route("/technicians")
def technicians():
    """List technicians with their rights."""
    rows = db.session.scalars(
        select(User).where(User.role == "technician").order_by(User.name, User.email)
    ).all()
    return render_template("admin/technicians.html", rows=rows, rights=list(Right))


@bp.route("/technicians/<int:user_id>/rights", methods=["GET", "POST"])
def technician_rights(user_id: int):
    """Show and set what one technician may do from the device."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_technician:
        abort(404, "There is no such technician.")
    if request.method == "POST":
        wanted = {r.value for r in Right if request.form.get(r.value) == "1"}
        name = user.display_name
        db.session.execute(delete(TechnicianRight).where(TechnicianRight.user_id == user.id))
        for value in sorted(wanted):
            db.session.add(TechnicianRight(user_id=user.id, right=value))
        db.session.commit()
        flash(f"Rights of {name} saved. Retry the actions that failed on them.", "success")
        return redirect(url_for("admin.technician_rights", user_id=user_id))
    return render_template("admin/rights.html", user=user, rights=list(Right))
