"""The main navigation shows where you are on every page of a section, not only its first."""

from __future__ import annotations

import re

import pytest


def _active(html: str) -> list[str]:
    nav = html.split('<nav class="mainnav">', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="[^"]*" class="active">([^<]+)</a>', nav)


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("/jobs", "Jobs"),
        ("/jobs/new", "Jobs"),
        ("/board", "Day board"),
        ("/technicians", "Technicians"),
        ("/inbox/", "Inbox"),
        ("/admin/pushes", "Pushes"),
        ("/admin/", "Configuration"),
        ("/admin/company", "Configuration"),
        ("/admin/transitions", "Configuration"),
        ("/admin/report-fields", "Configuration"),
        ("/admin/technicians", "Configuration"),
        ("/admin/status", "Status"),
        ("/admin/users", "Users"),
        ("/admin/users/new", "Users"),
        ("/admin/users/{me}", "Users"),
    ],
)
def test_the_section_of_the_page_is_highlighted(client, login_as, path, section):
    admin = login_as("admin")
    page = client.get(path.format(me=admin.id))
    assert page.status_code == 200, path
    assert _active(page.get_data(as_text=True)) == [section]
