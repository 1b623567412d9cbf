"""A device record belongs to one technician: another's device_id never reaches it."""

from __future__ import annotations

from sqlalchemy import select

from portal.models import Device
from tests.api.conftest import action


def test_signing_in_with_another_technicians_device_id_takes_nothing_from_them(
    sign_in, make_job, make_user, db
):
    owner = sign_in(device_id="shared-phone-1")
    job = make_job(owner.technician)
    assert (
        owner.put("/api/v1/device/push-token", json={"push_token": "fcm-owner"}).status_code == 200
    )
    assert owner.push([action(job.id, payload={"text": "gate code 4711"})]).status_code == 200

    intruder = sign_in(technician=make_user("technician"), device_id="shared-phone-1")
    first = intruder.pull_all()[0]

    # The owner's token still works and their device is untouched.
    assert owner.get("/api/v1/sync/pull").status_code == 200
    mine = db.session.scalars(select(Device).where(Device.device_id == "shared-phone-1")).all()
    by_user = {d.user_id: d for d in mine}
    assert set(by_user) == {owner.technician.id, intruder.technician.id}
    assert by_user[owner.technician.id].push_token == "fcm-owner"
    assert by_user[owner.technician.id].revoked_at is None
    # Nothing of the owner's reaches the intruder.
    for page in first:
        assert page["jobs"] == [] and page["action_results"] == []


def test_the_same_technician_signing_in_again_keeps_one_record_and_a_new_token(sign_in, db):
    first = sign_in(device_id="phone-7")
    again = sign_in(technician=first.technician, device_id="phone-7")

    rows = db.session.scalars(select(Device).where(Device.device_id == "phone-7")).all()
    assert len(rows) == 1
    assert again.get("/api/v1/sync/pull").status_code == 200
    assert first.get("/api/v1/sync/pull").status_code == 401  # the old token was replaced


def test_handing_a_phone_over_moves_its_push_token_when_the_new_user_registers_it(
    sign_in, make_user, db
):
    old = sign_in(device_id="pool-phone")
    old.put("/api/v1/device/push-token", json={"push_token": "fcm-pool"})
    new = sign_in(technician=make_user("technician"), device_id="pool-phone")
    new.put("/api/v1/device/push-token", json={"push_token": "fcm-pool"})

    tokens = {
        d.user_id: d.push_token
        for d in db.session.scalars(select(Device).where(Device.device_id == "pool-phone"))
    }
    assert tokens == {old.technician.id: None, new.technician.id: "fcm-pool"}
