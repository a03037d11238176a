"""The sample Grafana dashboard and Prometheus scrape config match what /metrics serves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings
from django.utils import timezone

from left4me import metrics_store
from left4me.tests.metrics_helpers import scrape, use_store
from livestate.models import LiveStatus
from servers.models import Server

DEPLOY = Path(django_settings.BASE_DIR) / "deploy"
METRIC = re.compile(r"\bleft4me_[a-z_]+\b")


def dashboard() -> dict:
    return json.loads((DEPLOY / "grafana-dashboard.json").read_text(encoding="utf-8"))


def queries(board: dict) -> list[str]:
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


@pytest.mark.django_db
def test_it_queries_only_metrics_the_panel_serves(client, make_server, settings):
    use_store(settings, "database")
    server = make_server(desired_state=Server.DesiredState.RUNNING)
    LiveStatus.objects.create(
        server=server, state="running", answered_at=timezone.now(), players=1, max_players=4
    )
    metrics_store.record_poll(seconds=1, failures=["error"])
    metrics_store.record_steam_call("ok")
    metrics_store.record_alert_sent("down", "sent")
    served = {name for name, _ in scrape(client)}
    asked = {name for expr in queries(dashboard()) for name in METRIC.findall(expr)}
    assert asked - served == set()
    # Every series the issue names is on the dashboard.
    families = {re.sub(r"_(bucket|count|sum)$", "", name) for name in served}
    assert families - {re.sub(r"_bucket$", "", n) for n in asked} == set()


@pytest.mark.nodb
def test_it_is_an_importable_dashboard():
    board = dashboard()
    assert board["title"] == "left4me"
    assert len({panel["id"] for panel in board["panels"]}) == len(board["panels"])
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
    expressions = " ".join(queries(board))
    assert "histogram_quantile(0.5," in expressions
    assert "histogram_quantile(0.95," in expressions


@pytest.mark.nodb
def test_it_scrapes_with_a_bearer_token_kept_out_of_the_config():
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["scheme"] == "https"
    assert job["authorization"]["type"] == "Bearer"
    assert "credentials" not in job["authorization"]
    assert job["authorization"]["credentials_file"]
    assert job["static_configs"][0]["targets"]
