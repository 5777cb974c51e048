"""Release calendars on the local cluster: wait for a window, hold in a freeze, break-glass."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client

from sluice.testing.kube import condition_of, wait_for
from sluice.testing.manifests import deployment, policy, release
from sluice.testing.prometheus import free_port

pytestmark = pytest.mark.cluster

TOTAL = 4


def _local(moment: datetime) -> str:
    """A UTC moment as a calendar's local time (time zone UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _freeze(name: str, start: datetime, end: datetime) -> dict[str, Any]:
    """A ReleaseCalendar with one deny window from start to end (UTC)."""
    return {
        "apiVersion": "sluice.dev/v1alpha1",
        "kind": "ReleaseCalendar",
        "metadata": {"name": name},
        "spec": {
            "windows": [
                {
                    "kind": "deny",
                    "reason": "test freeze",
                    "start": _local(start),
                    "end": _local(end),
                }
            ]
        },
    }


def _app(apply: Callable[..., None], name: str) -> None:
    """A stable with 4 replicas and an empty candidate."""
    apply(
        deployment(f"{name}-a", name, "a", "1.0.0", TOTAL),
        deployment(f"{name}-b", name, "b", "1.1.0", 0),
    )


def _scrape(port: int) -> str:
    """The operator's /metrics text."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def _window(read_release: Callable[[str], dict[str, Any]], name: str) -> dict[str, Any] | None:
    return condition_of(read_release(name), "WindowOpen")


def test_a_release_created_in_a_freeze_waits_at_zero_and_starts_when_it_ends(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    wait_for_condition: Callable[..., dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """WindowOpen=False names the next opening; no pod moves; at the end it starts by itself."""
    now = datetime.now(UTC)
    end = now + timedelta(seconds=25)
    _app(apply, "web")
    apply(_freeze("team", now - timedelta(minutes=1), end))
    apply(policy("ramp", [{"setWeight": 50}], calendars=[{"name": "team"}], scaleDownDelay="0s"))
    start_operator()
    apply(release("web", "web-a", "web-b", "ramp"))

    waiting = wait_for(lambda: _window(read_release, "web"), 30, "WindowOpen on web")
    assert (waiting["status"], waiting["reason"]) == ("False", "OutsideReleaseWindow")
    assert f"opens at {end:%Y-%m-%d %H:%M} UTC" in waiting["message"]
    assert replicas("web-b") == 0
    calendar = client.CustomObjectsApi(k8s_api).get_namespaced_custom_object(
        "sluice.dev", "v1alpha1", namespace, "releasecalendars", "team"
    )
    assert calendar["status"]["open"] is False
    assert calendar["status"]["nextOpen"].startswith(end.strftime("%Y-%m-%dT%H:%M"))

    done = wait_for_condition("web", "Succeeded", timeout=60)
    started = next(e for e in done["status"]["history"] if e["type"] == "Started")
    assert datetime.fromisoformat(started["time"].replace("Z", "+00:00")) >= end - timedelta(
        seconds=1
    )


def test_a_freeze_mid_rollout_holds_the_weight_while_a_failing_metric_still_rolls_back(
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    wait_for_condition: Callable[..., dict[str, Any]],
    replicas: Callable[[str], int],
    prometheus_url: str,
) -> None:
    """A freeze begins while the rollout pauses at 25%: it holds 25% past the pause; the
    metric that starts failing later (a real PromQL query on time()) still rolls back."""
    now = datetime.now(UTC)
    fails_at = int(now.timestamp()) + 45
    metric = {
        "name": "error-rate",
        "query": f"time() > bool {fails_at}",
        "thresholds": {"max": 0.5},
        "interval": "1s",
    }
    steps = [{"setWeight": 25}, {"pause": {"duration": "8s"}}, {"setWeight": 75}]
    _app(apply, "web")
    later = now + timedelta(days=30)
    apply(_freeze("team", later, later + timedelta(hours=1)))  # not in force yet
    apply(policy("ramp", steps, calendars=[{"name": "team"}], metrics=[metric]))
    start_operator(prometheus_url=prometheus_url)
    apply(release("web", "web-a", "web-b", "ramp"))
    wait_for(lambda: replicas("web-b") == 1, 30, "the rollout at 25%")
    apply(_freeze("team", datetime.now(UTC) - timedelta(minutes=1), now + timedelta(hours=1)))

    def holding() -> dict[str, Any] | None:
        found = condition_of(read_release("web"), "Progressing")
        return found if found and found["reason"] == "OutsideReleaseWindow" else None

    held = wait_for(holding, 30, "the rollout to hold on the freeze")
    assert "holding at 25%" in held["message"]
    assert replicas("web-b") == 1, "25% of 4 replicas, not more"
    time.sleep(max(0.0, fails_at - time.time() - 8))
    assert read_release("web")["status"]["weights"]["candidate"] == 25

    rolled = wait_for_condition("web", "RolledBack", timeout=60)
    entry = next(e for e in rolled["status"]["history"] if e["type"] == "RolledBack")
    assert (entry["metric"], entry["value"]) == ("error-rate", 1.0)
    wait_for(lambda: replicas("web-b") == 0, 30, "the candidate at 0")


def test_override_window_lets_one_release_through_and_records_who_and_why(
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    wait_for_condition: Callable[..., dict[str, Any]],
    sluice: Callable[..., Any],
) -> None:
    """kubectl sluice override-window: web goes, api keeps waiting; history names the user."""
    now = datetime.now(UTC)
    for app in ("web", "api"):
        _app(apply, app)
    apply(_freeze("team", now - timedelta(minutes=1), now + timedelta(hours=2)))
    apply(policy("ramp", [{"setWeight": 50}], calendars=[{"name": "team"}], scaleDownDelay="0s"))
    port = free_port()
    start_operator("--no-leader-election", "--metrics-port", str(port))
    apply(release("web", "web-a", "web-b", "ramp"), release("api", "api-a", "api-b", "ramp"))
    for app in ("web", "api"):
        wait_for(lambda app=app: _window(read_release, app), 30, f"{app} to wait")
    waiting = f'sluice_releases_waiting_on_window{{namespace="{namespace}"}} 2.0'
    closed = f'sluice_calendar_open{{calendar="team",namespace="{namespace}"}} 0.0'
    wait_for(lambda: waiting in _scrape(port) and closed in _scrape(port), 10, "the gauges")

    result = sluice("override-window", "web", "--reason", "INC-7 customer fix")
    assert result.exit_code == 0, result.output
    done = wait_for_condition("web", "Succeeded", timeout=60)
    entry = next(e for e in done["status"]["history"] if e["type"] == "WindowOverridden")
    assert "INC-7 customer fix" in entry["message"]
    assert entry["by"] and entry["by"] != "unknown"
    still = _window(read_release, "api")
    assert still is not None and still["status"] == "False"
    one = f'sluice_releases_waiting_on_window{{namespace="{namespace}"}} 1.0'
    wait_for(lambda: one in _scrape(port), 10, "one Release waiting")

    timeline = sluice("calendar")
    assert timeline.exit_code == 0, timeline.output
    assert "ReleaseCalendar team" in timeline.output
    assert "api: " in timeline.output, "the waiting Release is listed"


def test_a_missing_calendar_is_a_condition_and_nothing_moves(
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """A policy that names a calendar nobody created: InvalidCalendar, not always open."""
    _app(apply, "web")
    apply(policy("ramp", [{"setWeight": 50}], calendars=[{"name": "missing"}]))
    start_operator()
    apply(release("web", "web-a", "web-b", "ramp"))
    found = wait_for(lambda: condition_of(read_release("web"), "Degraded"), 30, "Degraded")
    assert found["reason"] == "InvalidCalendar"
    assert 'ReleaseCalendar "missing" not found' in found["message"]
    time.sleep(2)
    assert replicas("web-b") == 0


def test_a_cluster_calendar_selects_the_namespace_by_label_with_an_ics_holiday_file(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    wait_for_condition: Callable[..., dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """An organisation's freeze from an .ics file applies through a namespace label, with no
    mention in the policy; deleting the calendar lets the Release go at once."""
    now = datetime.now(UTC)
    ics = "\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//test//EN",
            "BEGIN:VEVENT",
            "UID:freeze@test",
            f"DTSTART:{(now - timedelta(hours=1)):%Y%m%dT%H%M%SZ}",
            f"DTEND:{(now + timedelta(hours=1)):%Y%m%dT%H%M%SZ}",
            "SUMMARY:Company offsite",
            "END:VEVENT",
            "END:VCALENDAR",
        ]
    )
    core = client.CoreV1Api(k8s_api)
    core.patch_namespace(namespace, {"metadata": {"labels": {"sluice.test/freeze": namespace}}})
    apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "holidays"},
            "data": {"calendar.ics": ics},
        }
    )
    custom = client.CustomObjectsApi(k8s_api)
    calendar = {
        "apiVersion": "sluice.dev/v1alpha1",
        "kind": "ClusterReleaseCalendar",
        "metadata": {"name": namespace},
        "spec": {
            "namespaceSelector": {"matchLabels": {"sluice.test/freeze": namespace}},
            "ics": {"name": "holidays", "namespace": namespace, "reason": "company"},
        },
    }
    custom.create_cluster_custom_object(
        "sluice.dev", "v1alpha1", "clusterreleasecalendars", calendar
    )
    try:
        _app(apply, "web")
        apply(policy("ramp", [{"setWeight": 50}], scaleDownDelay="0s"))
        start_operator()
        apply(release("web", "web-a", "web-b", "ramp"))
        waiting = wait_for(lambda: _window(read_release, "web"), 30, "WindowOpen on web")
        assert waiting["reason"] == "OutsideReleaseWindow"
        assert "company: Company offsite" in waiting["message"]
        assert f"ClusterReleaseCalendar {namespace}" in waiting["message"]
        assert replicas("web-b") == 0
    finally:
        custom.delete_cluster_custom_object(
            "sluice.dev", "v1alpha1", "clusterreleasecalendars", namespace
        )
    wait_for_condition("web", "Succeeded", timeout=60)
