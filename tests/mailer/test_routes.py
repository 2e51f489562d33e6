"""The project's route from EMAIL_URL, and the workers that read the mail queue."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.conf import settings

from mailer.models import Security
from mailer.routes import Route, RouteRefused, check_route, project_route

ROOT = Path(__file__).resolve().parents[2]


def test_email_url_gives_the_projects_route():
    assert project_route("") is None
    plain = project_route("smtp://127.0.0.1:8025")
    assert (plain.host, plain.port, plain.security, plain.trusted) == ("127.0.0.1", 8025, Security.NONE, True)
    tls = project_route("smtp://user%40shop:p%2Fw@mail.example.jp?tls=1")
    assert (tls.port, tls.security, tls.user, tls.password) == (587, Security.STARTTLS, "user@shop", "p/w")
    assert project_route("smtps://mail.example.jp").port == 465
    with pytest.raises(RouteRefused):
        project_route("http://mail.example.jp")


def test_a_tenants_route_must_be_a_public_mail_server(settings):
    settings.MAILER_ALLOW_PRIVATE_SMTP = False
    for route in (Route("127.0.0.1", 25), Route("10.1.2.3", 587), Route("localhost", 587)):
        with pytest.raises(RouteRefused):
            check_route(route)
    with pytest.raises(RouteRefused, match="5432"):
        check_route(Route("192.0.2.10", 5432))
    check_route(Route("127.0.0.1", 5432, trusted=True))  # the project's own (EMAIL_URL) is the operator's choice


def test_every_worker_we_start_reads_the_mail_queue():
    queue = settings.MAILER_QUEUE
    assert settings.CELERY_TASK_ROUTES["mailer.tasks.deliver_mails"] == {"queue": queue}
    procfile = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ":" in line)
    assert f"-Q celery,{queue}" in procfile["worker"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert f"-Q celery,{queue}" in compose["services"]["worker"]["command"]
