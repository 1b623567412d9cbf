"""Configuration pages: status transitions, report fields, technician rights.

These are where an admin repairs the cause of a failed inbox action in place (a missing
transition, a field requirement, a right) before retrying it.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from portal import params
from portal.admin import bp
from portal.domain import configuration
from portal.domain.configuration import FIELD_TYPES, STATUSES
from portal.extensions import db
from portal.models import ReportField, Right, StatusTransition, User


@bp.route("/transitions", methods=["GET", "POST"])
def transitions():
    """List, add, change and remove the configured status transitions."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        op = request.form.get("op")
        if op == "add":
            a, b = request.form.get("from_status", ""), request.form.get("to_status", "")
            portal_only = request.form.get("portal_only") == "1"
            errors = configuration.add_transition(a, b, portal_only)
            if not errors:
                db.session.commit()
                flash(f"{a} → {b} is now allowed. Retry the failed actions it blocked.", "success")
                return redirect(url_for("admin.transitions"))
        elif op in ("delete", "toggle"):
            row = db.session.get(StatusTransition, params.whole(request.form.get("id")) or 0)
            if row is None:
                abort(404, "There is no such transition.")
            name = f"{row.from_status} → {row.to_status}"
            if op == "delete":
                configuration.remove_transition(row)
                flash(f"{name} removed.", "success")
            else:
                configuration.toggle_portal_only(row)
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
            configuration.remove_report_field(row)
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
        errors = configuration.save_report_field(row, key, label, kind, required_for)
        if not errors:
            db.session.commit()
            flash(f"Report field '{label}' saved.", "success")
            return redirect(url_for("admin.report_fields"))
    rows = db.session.scalars(select(ReportField).order_by(ReportField.position)).all()
    return render_template(
        "admin/report_fields.html",
        rows=rows,
        statuses=STATUSES,
        errors=errors,
        types=FIELD_TYPES,
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
        wanted = {r for r in Right if request.form.get(r.value) == "1"}
        name = user.display_name
        configuration.set_rights(user, wanted)
        db.session.commit()
        flash(f"Rights of {name} saved. Retry the actions that failed on them.", "success")
        return redirect(url_for("admin.technician_rights", user_id=user_id))
    return render_template("admin/rights.html", user=user, rights=list(Right))
