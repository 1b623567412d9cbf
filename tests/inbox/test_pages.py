"""The inbox and configuration pages: filters, counts, repair in place, audited operations."""

from __future__ import annotations

from sqlalchemy import select

from portal.models import InboxAudit, InboxMessage, Right, StatusTransition
from tests.inbox.conftest import reload


def failing_setup(make_user, make_job, upload, run_worker):
    tech = make_user("technician", name="Nina Notes", rights=[Right.ADD_NOTES])
    job = make_job(tech)
    bad = upload(tech, job.id, 1, "status_change", {"to": "en_route"})
    held = upload(tech, job.id, 2, "note", {"text": "on my way"})
    ok_job = make_job(tech)
    ok = upload(tech, ok_job.id, 1, "note", {"text": "done"})
    run_worker(["inbox"])
    return tech, job, bad, held, ok


def test_the_list_filters_and_counts_by_state_including_held(
    client, login_as, make_user, make_job, upload, run_worker
):
    tech, job, bad, held, ok = failing_setup(make_user, make_job, upload, run_worker)
    login_as("admin")
    page = client.get("/inbox/").get_data(as_text=True)
    assert 'data-count="failed"' in page and "<svg" in page
    assert f'id="msg-{bad.id}" data-message="{bad.id}" data-state="failed"' in page
    assert 'data-state="held"' in page
    held_only = client.get("/inbox/?state=held").get_data(as_text=True)
    assert f'id="msg-{held.id}"' in held_only and f'id="msg-{bad.id}"' not in held_only
    errors = client.get("/inbox/?has_errors=1&category=authorization").get_data(as_text=True)
    assert f'id="msg-{bad.id}"' in errors and f'id="msg-{ok.id}"' not in errors
    by_job = client.get(f"/inbox/?job={job.id}&technician={tech.id}").get_data(as_text=True)
    assert f'id="msg-{ok.id}"' not in by_job and f'id="msg-{held.id}"' in by_job
    line = client.get(f"/inbox/jobs/{job.id}").get_data(as_text=True)
    assert "held behind a failed action" in line


def test_an_admin_repairs_a_right_from_the_message_page_and_retries(
    client, login_as, make_user, make_job, upload, run_worker, db
):
    tech, job, bad, held, ok = failing_setup(make_user, make_job, upload, run_worker)
    admin = login_as("admin")
    page = client.get(f"/inbox/messages/{bad.id}").get_data(as_text=True)
    assert "lacks the right &#39;change_status&#39;" in page
    assert f"/admin/technicians/{tech.id}/rights" in page  # the fix is one click away
    assert "on my way" in page  # held behind it
    assert "Edit payload" not in page  # support only
    form = {"add_notes": "1", "change_status": "1"}
    assert client.post_form(f"/admin/technicians/{tech.id}/rights", form).status_code == 302
    assert client.post_form(f"/inbox/messages/{bad.id}/retry").status_code == 302
    run_worker(["inbox"])
    assert reload(db, InboxMessage, bad.id).state == "completed"
    assert reload(db, InboxMessage, held.id).state == "completed"
    audit = db.session.scalars(select(InboxAudit).where(InboxAudit.message_id == bad.id)).one()
    assert (audit.action, audit.user_id) == ("retry", admin.id)


def test_retry_all_matching_the_filter_after_configuring_a_transition(
    client, login_as, technician, make_job, upload, run_worker, db
):
    jobs = [make_job(technician) for _ in range(3)]
    msgs = [upload(technician, j.id, 1, "status_change", {"to": "paused"}) for j in jobs]
    run_worker(["inbox"])
    login_as("admin")
    page = client.get(f"/inbox/messages/{msgs[0].id}").get_data(as_text=True)
    assert "/admin/transitions" in page
    response = client.post_form(
        "/admin/transitions", {"op": "add", "from_status": "assigned", "to_status": "paused"}
    )
    assert response.status_code == 302
    assert db.session.scalar(
        select(StatusTransition).where(
            StatusTransition.to_status == "paused", StatusTransition.from_status == "assigned"
        )
    )
    response = client.post_form("/inbox/retry", {"scope": "all", "category": "configuration"})
    assert response.status_code == 302
    run_worker(["inbox"])
    assert [reload(db, InboxMessage, m.id).state for m in msgs] == ["completed"] * 3


def test_discard_from_the_page_is_audited_and_the_line_goes_on(
    client, login_as, make_user, make_job, upload, run_worker, db
):
    tech, job, bad, held, ok = failing_setup(make_user, make_job, upload, run_worker)
    login_as("admin")
    client.post_form(f"/inbox/messages/{bad.id}/discard", {"note": "obsolete"})
    run_worker(["inbox"])
    assert reload(db, InboxMessage, bad.id).state == "discarded"
    assert reload(db, InboxMessage, held.id).state == "completed"
    page = client.get(f"/inbox/messages/{bad.id}").get_data(as_text=True)
    assert "discard" in page and "obsolete" in page


def test_only_support_edits_a_payload_and_bad_json_is_refused_next_to_the_field(
    client, auth, make_user, technician, make_job, upload, run_worker, db
):
    job = make_job(technician)
    m = upload(technician, job.id, 1, "status_change", {"to": "enroute"})
    run_worker(["inbox"])
    admin = make_user("admin")
    auth.login(admin.email)
    assert client.get(f"/inbox/messages/{m.id}/payload").status_code == 403
    auth.logout()
    support = make_user("support")
    auth.login(support.email)
    bad = client.post_form(f"/inbox/messages/{m.id}/payload", {"payload": "{to: x"})
    assert bad.status_code == 422 and "Not valid JSON" in bad.get_data(as_text=True)
    wrong = client.post_form(f"/inbox/messages/{m.id}/payload", {"payload": '{"status": "x"}'})
    assert wrong.status_code == 422 and "needs &#39;to&#39;" in wrong.get_data(as_text=True)
    assert reload(db, InboxMessage, m.id).payload == {"to": "enroute"}
    ok = client.post_form(
        f"/inbox/messages/{m.id}/payload", {"payload": '{"to": "en_route"}', "then": "retry"}
    )
    assert ok.status_code == 302
    run_worker(["inbox"])
    assert reload(db, InboxMessage, m.id).state == "completed"
    page = client.get(f"/inbox/messages/{m.id}").get_data(as_text=True)
    assert "enroute" in page and "en_route" in page and support.display_name in page


def test_report_fields_and_transitions_pages_validate_input(client, login_as, db):
    login_as("admin")
    bad = client.post_form("/admin/report-fields", {"op": "add", "key": "Bad Key", "label": ""})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Use lowercase letters" in text and "Give a label" in text
    good = client.post_form(
        "/admin/report-fields",
        {
            "op": "add",
            "key": "meter",
            "label": "Meter reading",
            "type": "number",
            "required_for": "finished",
        },
    )
    assert good.status_code == 302
    assert "Meter reading" in client.get("/admin/report-fields").get_data(as_text=True)
    same = client.post_form(
        "/admin/transitions", {"op": "add", "from_status": "new", "to_status": "new"}
    )
    assert same.status_code == 422
    assert client.get("/admin/").status_code == 200


def test_dispatchers_cannot_open_the_inbox(client, login_as):
    login_as("dispatcher")
    assert client.get("/inbox/").status_code == 403
    assert client.get("/admin/transitions").status_code == 403
