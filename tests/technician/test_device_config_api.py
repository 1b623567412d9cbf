"""The device API's configuration and job history answers, as the app reads them."""

from __future__ import annotations

from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse

from portal.domain import jobs as job_ops
from portal.domain.jobs import Actor
from portal.models import Right


def _signed_in(client, user) -> dict:
    answer = client.post(
        "/api/v1/auth/device",
        json={"email": user.email, "password": "password123", "device_id": "phone-1"},
    )
    assert answer.status_code == 200
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def _documented(client, answer):
    spec = OpenAPI.from_dict(client.get("/api/v1/openapi.json").get_json())
    spec.validate_response(WerkzeugOpenAPIRequest(answer.request), WerkzeugOpenAPIResponse(answer))
    return answer.get_json()


def test_config_names_what_this_technician_may_do_from_the_device(app, client, make_user):
    tech = make_user("technician", rights=[Right.EDIT_REPORT, Right.ADD_NOTES])
    auth = _signed_in(client, tech)
    body = _documented(client, client.get("/api/v1/device/config", headers=auth))
    assert body["rights"] == ["add_notes", "edit_report"]
    pairs = {(t["from"], t["to"]) for t in body["transitions"]}
    assert ("started", "finished") in pairs
    assert ("started", "cancelled") not in pairs  # portal only
    resolution = next(f for f in body["report_fields"] if f["key"] == "resolution")
    assert resolution["required_for"] == "finished"
    assert client.get("/api/v1/device/config").status_code == 401


def test_history_of_own_jobs_only(app, client, db, make_user):
    tech, other = make_user("technician", name="Tess Tech"), make_user("technician")
    dispatcher = make_user("dispatcher", name="Dana Dispatch")
    actor = Actor.portal(dispatcher)
    mine = job_ops.create({"title": "Fix the boiler"}, actor)
    job_ops.assign(mine, tech, actor)
    job_ops.add_note(mine, "Bring the ladder", actor)
    theirs = job_ops.create({"title": "Replace a valve"}, actor)
    job_ops.assign(theirs, other, actor)
    db.session.commit()
    auth = _signed_in(client, tech)

    body = _documented(client, client.get(f"/api/v1/jobs/{mine.id}/history", headers=auth))
    assert body["history"][0] == {
        "at": body["history"][0]["at"],
        "who": "Dana Dispatch",
        "what": "Note: Bring the ladder",
    }
    assert [h["what"] for h in body["history"]][-1] == "Job created"
    gone = client.get(f"/api/v1/jobs/{theirs.id}/history", headers=auth)
    assert gone.status_code == 404 and gone.get_json()["error"] == "not_found"
