"""Every portal page at phone (390×844) and tablet (768×1024) size, in a real Chromium.

Nothing may stick out sideways (the document is no wider than the window), every navigation
entry and Sign out must be on screen, and no two pieces of text may overlap: the day board's
hour labels included, on a day whose jobs stretch the axis over all 24 hours.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from portal.cli.users import DEMO_PASSWORD, load_demo
from portal.domain import jobs as job_ops
from portal.domain import timezones, wallclock
from portal.models import Device, InboxMessage, Job, User, utcnow
from tests.conftest import ROOT, browser_login
from tests.inbox.conftest import store_action

pytestmark = pytest.mark.browser

VIEWPORTS = {"phone": (390, 844), "tablet": (768, 1024)}
# Copied into docs/screenshots/ for the README when FIELDSYNC_UPDATE_SCREENSHOTS=1.
README_SHOTS = {"phone-dispatcher-board", "tablet-dispatcher-board", "phone-admin-user"}

# Every visible piece of text on the page, as the boxes of its rendered lines clipped by the
# boxes that hide their overflow; returns the pairs of different texts whose boxes overlap.
OVERLAPS_JS = """
() => {
  const boxes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const skip = 'SCRIPT,STYLE,OPTION,SELECT,TEXTAREA,TEMPLATE,NOSCRIPT';
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (!el || el.closest(skip) || el.closest('[hidden]')) continue;
    // Not rendered: display none, in a closed <details>, or content-visibility hidden.
    if (!el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      let box = {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
      for (let a = el; a && a !== document.body; a = a.parentElement) {
        const s = getComputedStyle(a);
        if (s.overflowX !== 'visible' || s.overflowY !== 'visible') {
          const c = a.getBoundingClientRect();
          box = {left: Math.max(box.left, c.left), top: Math.max(box.top, c.top),
                 right: Math.min(box.right, c.right), bottom: Math.min(box.bottom, c.bottom)};
        }
      }
      if (box.right - box.left > 1 && box.bottom - box.top > 1) {
        boxes.push({box, node, text: node.textContent.trim().slice(0, 40)});
      }
    }
  }
  const found = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.node === b.node) continue;
      const w = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left);
      const h = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
      // Two pixels of slack: glyph boxes of neighbouring lines touch by design.
      if (w > 2 && h > 2) found.push(`"${a.text}" overlaps "${b.text}"`);
    }
  }
  return found.slice(0, 10);
}
"""

# Elements that reach past the window's right edge (shown cut off, or pushing the page wider).
OFF_SCREEN_JS = """
() => {
 function* ancestors(el) { for (let a = el.parentElement; a; a = a.parentElement) yield a; }
 return [...document.body.querySelectorAll('*')].filter(el => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.right > window.innerWidth + 1
    && !el.closest('[hidden]') && getComputedStyle(el).visibility === 'visible'
    // Text cut short with an ellipsis on purpose (the day board's job cards) is not lost.
    && ![...ancestors(el)].some(a => getComputedStyle(a).textOverflow === 'ellipsis'
                                     && a.getBoundingClientRect().right <= window.innerWidth + 1);
}).slice(0, 5).map(el => `${el.tagName.toLowerCase()}.${el.getAttribute('class')}: `
                          + el.textContent.trim().slice(0, 30));
}
"""

# The navigation entries and Sign out that lie (partly) outside the window.
OFF_SCREEN_NAV_JS = """
() => {
  const items = [...document.querySelectorAll('.topbar a, .topbar button')];
  return items.filter(el => {
    const r = el.getBoundingClientRect();
    return r.width === 0 || r.left < 0 || r.right > window.innerWidth + 0.5;
  }).map(el => el.textContent.trim());
}
"""


@pytest.fixture
def company(app, db, run_worker):
    """Demo data, a long day on the board, phones, and inbox messages in several states."""
    load_demo()
    users = {u.email: u for u in db.session.query(User)}
    dispatcher = users["dispatcher@example.com"]
    tech = users["tech1@example.com"]
    actor = job_ops.Actor.portal(dispatcher)
    zone = timezones.company_zone()
    today = wallclock.today(zone)

    def at(hour: int, minute: int = 0) -> datetime:
        return wallclock.from_local_lenient(datetime.combine(today, time(hour, minute)), zone)

    # A job just after midnight and one before the next: the axis spans the whole day.
    early = job_ops.create(
        {
            "title": "Night call-out: frozen pipe",
            "customer": "Northwind Hotel",
            "scheduled_start": at(0, 30),
            "scheduled_end": at(1, 30),
        },
        actor,
    )
    job_ops.assign(early, tech, actor)
    job_ops.create(
        {
            "title": "Emergency boiler restart after the evening power cut in the east wing",
            "customer": "Stark Apartments, building C, entrance from the courtyard",
            "address": "Überlandstraße 1234, 8050 Zürich-Oerlikon, Switzerland",
            "scheduled_start": at(22, 45),
            "scheduled_end": at(23, 45),
        },
        actor,
    )
    for i, u in enumerate(u for u in users.values() if u.is_technician):
        db.session.add(
            Device(
                device_id=f"phone-{uuid.uuid4().hex}",
                user_id=u.id,
                platform="android",
                app_version="1.4.2",
                last_sync_at=utcnow() - timedelta(hours=30 * i),
                unsent_count=i,
                network="edge" if i else "wifi",
            )
        )
    db.session.commit()
    device = db.session.query(Device).filter_by(user_id=tech.id).one()
    job = db.session.query(Job).filter_by(assignee_id=tech.id).order_by(Job.id).first()
    store_action(tech, job.id, 1, "status_change", {"to": "finished"}, device=device)
    store_action(tech, job.id, 2, "note", {"text": "Left the key with the neighbour"}, device)
    store_action(tech, early.id, 1, "note", {"text": "On my way"}, device=device)
    db.session.commit()
    run_worker(["inbox"])
    message = db.session.query(InboxMessage).order_by(InboxMessage.id).first()
    return {"job": job, "tech": tech, "message": message}


def pages_for(role: str, company: dict) -> dict[str, str]:
    """Name → path of every page ``role`` opens."""
    job, tech, message = company["job"], company["tech"], company["message"]
    pages = {
        "jobs": "/jobs",
        "jobs-filtered": "/jobs?status=assigned&q=boiler",
        "job": f"/jobs/{job.id}",
        "job-new": "/jobs/new",
        "job-edit": f"/jobs/{job.id}/edit",
        "import": "/jobs/import",
        "board": "/board",
        "technicians": "/technicians",
        "settings": "/settings",
        "password": "/account/password",
        "not-found": "/jobs/999999",
    }
    if role in ("admin", "support"):
        pages.update(
            {
                "inbox": "/inbox/",
                "inbox-line": f"/inbox/jobs/{message.job_id}",
                "inbox-message": f"/inbox/messages/{message.id}",
                "configuration": "/admin/",
                "company": "/admin/company",
                "pushes": "/admin/pushes",
                "report-fields": "/admin/report-fields",
                "status": "/admin/status",
                "transitions": "/admin/transitions",
                "rights-list": "/admin/technicians",
                "rights": f"/admin/technicians/{tech.id}/rights",
                "users": "/admin/users",
                "user-new": "/admin/users/new",
                "user": f"/admin/users/{tech.id}",
            }
        )
    if role == "support":
        pages = {"payload": f"/inbox/messages/{message.id}/payload"}
    return pages


def check_page(tab, name: str, shots: Path) -> list[str]:
    """Return what is wrong with the page shown in ``tab``; save its screenshot."""
    tab.wait_for_load_state("load")
    problems = []
    width = tab.evaluate("() => window.innerWidth")
    scroll_width = tab.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
    )
    if scroll_width > width:
        problems.append(f"{name}: the page is {scroll_width} px wide in a {width} px window")
    cut = tab.evaluate(OFF_SCREEN_JS)
    if cut:
        problems.append(f"{name}: past the right edge: {cut}")
    off = tab.evaluate(OFF_SCREEN_NAV_JS)
    if off:
        problems.append(f"{name}: off screen in the top bar: {off}")
    overlaps = tab.evaluate(OVERLAPS_JS)
    if overlaps:
        problems.append(f"{name}: overlapping text: {overlaps}")
    tab.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    return problems


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("role", ["dispatcher", "admin", "support"])
def test_every_page_fits_small_screens(page, company, viewport, role, tmp_path):
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    shots = tmp_path / "screenshots"
    shots.mkdir()
    browser_login(page, f"{role}@example.com", DEMO_PASSWORD)
    problems = []
    labels = page.locator(".topbar").inner_text()
    for label in ["Jobs", "Day board", "Sign out"] + (
        ["Inbox", "Users"] if role != "dispatcher" else []
    ):
        assert label in labels
    for name, path in pages_for(role, company).items():
        page.goto(path)
        problems += check_page(page, f"{viewport}-{role}-{name}", shots)
    if os.environ.get("FIELDSYNC_UPDATE_SCREENSHOTS") == "1":
        docs = ROOT / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        for shot in shots.iterdir():
            if shot.stem in README_SHOTS:
                shutil.copy(shot, docs / shot.name)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("width", "hint"), [(390, "Tap a job"), (1400, "Drag a job")])
def test_the_board_says_how_to_assign_on_this_screen(page, company, width, hint):
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, "dispatcher@example.com", DEMO_PASSWORD)
    page.goto("/board")
    shown = page.inner_text("#board-zone")
    assert shown.startswith(hint) and ("Drag" in shown) == (hint == "Drag a job")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_sign_in_page_fits_small_screens(page, app, viewport, tmp_path):
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/login")
    assert check_page(page, f"{viewport}-login", tmp_path) == []
