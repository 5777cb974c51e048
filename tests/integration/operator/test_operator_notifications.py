"""Notifications on a running operator: real receivers get the evidence, signed, at least once."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from sluice.testing.kube import condition_of, wait_for
from sluice.testing.manifests import deployment, policy, release
from sluice.testing.receiver import Receiver

pytestmark = pytest.mark.cluster

FAILING_METRIC = {
    "name": "error-rate",
    "query": "vector(0.12)",
    "thresholds": {"max": 0.05},
    "interval": "1s",
}
ANALYZED = [{"setWeight": 50}, {"analysis": {"measurements": 2}}, {"setWeight": 100}]
HELD = [{"setWeight": 50}, {"pause": {}}, {"setWeight": 100}]
SIGNING_KEY = "hmac-key-for-tests"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP receiver on loopback."""
    server = Receiver()
    yield server
    server.close()


def _secret(k8s_api: Any, namespace: str, name: str, data: dict[str, str]) -> None:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    client.CoreV1Api(k8s_api).create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name=name), data=encoded)
    )


def _app(apply: Callable[..., None]) -> None:
    apply(
        deployment("web-a", "web", "a", "1.0.0", 2),
        deployment("web-b", "web", "b", "1.1.0", 0),
    )


def _subscription(name: str, events: list[str], **target: Any) -> dict[str, Any]:
    return {"name": name, "events": events, **target}


def _status_of(read_release: Callable[[str], dict[str, Any]], name: str) -> dict[str, Any]:
    return (read_release(name).get("status") or {}).get("notifications") or {}


def _delivered(read_release: Callable[[str], dict[str, Any]], name: str, count: int) -> bool:
    state = _status_of(read_release, name)
    subscriptions = state.get("subscriptions") or []
    done = [s for s in subscriptions if s["result"] == "Delivered"]
    return len(done) == count and not state.get("pending")


def _event_reasons(k8s_api: Any, namespace: str, name: str) -> list[str]:
    events = client.CoreV1Api(k8s_api).list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name},involvedObject.kind=Release"
    )
    return [event.reason for event in events.items]


def test_a_rollback_reaches_webhook_slack_and_teams_with_the_metric_value_and_threshold(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    prometheus_url: str,
    receiver: Receiver,
) -> None:
    """A metric rollback is posted to a signed webhook, Slack and Teams (URLs from Secrets):
    each body names the metric, value and threshold; the HMAC verifies; the status says
    Delivered for each subscription."""
    _app(apply)
    _secret(
        k8s_api,
        namespace,
        "hooks",
        {
            "signing": SIGNING_KEY,
            "slack": f"{receiver.url}/slack/T000/B000/XXXX",
            "teams": f"{receiver.url}/teams/workflow",
        },
    )
    notifications = [
        _subscription(
            "audit",
            ["RolledBack"],
            webhook={
                "url": f"{receiver.url}/hook",
                "signingSecretRef": {"name": "hooks", "key": "signing"},
            },
        ),
        _subscription(
            "chat",
            ["RolledBack"],
            slack={"urlSecretRef": {"name": "hooks", "key": "slack"}},
            template="{{ release.name }} {{ release.version }} rolled back: "
            "{{ evidence.metric }} was {{ evidence.value }} ({{ evidence.threshold }})",
        ),
        _subscription(
            "teams", ["RolledBack"], teams={"urlSecretRef": {"name": "hooks", "key": "teams"}}
        ),
    ]
    apply(policy("ramp", ANALYZED, metrics=[FAILING_METRIC], notifications=notifications))
    start_operator(prometheus_url=prometheus_url)
    apply(release("web", "web-a", "web-b", "ramp"))
    wait_for(lambda: len(receiver.requests()) >= 3 or None, 60, "three notifications")
    wait_for(lambda: _delivered(read_release, "web", 3) or None, 30, "three deliveries")

    (hook,) = receiver.requests("/hook")
    body = hook.json()
    assert body["schemaVersion"] == "sluice.dev/notification/v1"
    assert body["event"] == "RolledBack"
    assert body["evidence"] == {"metric": "error-rate", "value": 0.12, "threshold": "<= 0.05"}
    assert body["release"]["name"] == "web" and body["release"]["version"] == "1.1.0"
    assert hook.headers["idempotency-key"] == body["id"]
    expected = hmac.new(SIGNING_KEY.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["x-sluice-signature-256"] == f"sha256={expected}"

    (slack,) = receiver.requests("/slack/T000/B000/XXXX")
    assert slack.json()["text"] == "web 1.1.0 rolled back: error-rate was 0.12 (<= 0.05)"
    assert "error-rate" in str(slack.json()["blocks"])
    (teams,) = receiver.requests("/teams/workflow")
    card = teams.json()["attachments"][0]["content"]
    assert {"title": "Threshold", "value": "<= 0.05"} in card["body"][1]["facts"]
    status = read_release("web")["status"]
    assert condition_of(read_release("web"), "NotificationsDelivered")["status"] == "True"
    assert SIGNING_KEY not in str(status) and "XXXX" not in str(status)


def test_a_receiver_failing_three_times_gets_the_event_again_with_the_same_key(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    receiver: Receiver,
) -> None:
    """503 three times, then 200: four attempts with one idempotency key, then Delivered;
    the failures are a Warning Event."""
    receiver.plan = [503, 503, 503]
    _app(apply)
    hook = _subscription("ops", ["RolloutStarted"], webhook={"url": f"{receiver.url}/hook"})
    apply(policy("held", HELD, notifications=[hook]))
    start_operator()
    apply(release("web", "web-a", "web-b", "held"))
    wait_for(lambda: _delivered(read_release, "web", 1) or None, 60, "the delivery")

    attempts = receiver.requests("/hook")
    assert [r.status for r in attempts] == [503, 503, 503, 200]
    assert len({r.headers["idempotency-key"] for r in attempts}) == 1
    assert [r.headers["x-sluice-delivery-attempt"] for r in attempts] == ["1", "2", "3", "4"]
    (subscription,) = _status_of(read_release, "web")["subscriptions"]
    assert (subscription["result"], subscription["delivered"]) == ("Delivered", 1)
    assert "NotificationRetrying" in _event_reasons(k8s_api, namespace, "web")


def test_a_receiver_that_never_answers_does_not_delay_the_rollback(
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    replicas: Callable[[str], int],
    prometheus_url: str,
    receiver: Receiver,
) -> None:
    """Every notification hangs, yet the rollout starts, steps and rolls back on its own
    time; the hanging deliveries stay pending in the status."""
    receiver.hang.set()
    _app(apply)
    events = ["RolloutStarted", "StepReached", "RolledBack"]
    hook = _subscription("slow", events, webhook={"url": f"{receiver.url}/hook"})
    apply(policy("ramp", ANALYZED, metrics=[FAILING_METRIC], notifications=[hook]))
    start_operator(prometheus_url=prometheus_url)
    apply(release("web", "web-a", "web-b", "ramp"))

    rolled_back = wait_for(
        lambda: (c := condition_of(read_release("web"), "RolledBack")) and c["status"] == "True",
        60,
        "the rollback",
    )
    assert rolled_back
    assert receiver.answered == 0  # the rollback happened while no delivery had an answer
    wait_for(lambda: replicas("web-b") == 0 or None, 60, "the candidate scaled down")
    pending = [p["event"] for p in _status_of(read_release, "web").get("pending", [])]
    assert "RolledBack" in pending


def test_a_notification_decided_before_a_kill_is_delivered_after_the_restart(
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    receiver: Receiver,
) -> None:
    """The outbox is in the status: SIGKILL while the receiver hangs, restart, and the same
    notification (same idempotency key) is delivered."""
    receiver.hang.set()
    _app(apply)
    hook = _subscription("ops", ["RolloutStarted"], webhook={"url": f"{receiver.url}/hook"})
    apply(policy("held", HELD, notifications=[hook]))
    operator = start_operator()
    apply(release("web", "web-a", "web-b", "held"))
    wait_for(lambda: receiver.requests("/hook") or None, 60, "a first attempt")
    operator.kill()
    receiver.hang.clear()
    start_operator()
    wait_for(lambda: _delivered(read_release, "web", 1) or None, 60, "the delivery")

    keys = [r.headers["idempotency-key"] for r in receiver.requests("/hook")]
    delivered = [r for r in receiver.requests("/hook") if r.status == 200]
    assert len(set(keys)) == 1 and len(delivered) == 1


def test_destinations_outside_the_allowlist_are_refused_and_get_no_request(
    apply: Callable[..., None],
    k8s_api: Any,
    namespace: str,
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    receiver: Receiver,
) -> None:
    """Installer allows 10.0.0.0/8 only: the loopback webhook is refused naming the field and
    the rule; a Slack URL in a Secret pointing at the metadata address is refused without
    showing the URL; neither gets a request, and the rollout goes on."""
    _secret(k8s_api, namespace, "hooks", {"slack": "http://169.254.169.254/secret-path"})
    _app(apply)
    notifications = [
        _subscription("ops", ["RolloutStarted"], webhook={"url": f"{receiver.url}/hook"}),
        _subscription(
            "chat", ["RolloutStarted"], slack={"urlSecretRef": {"name": "hooks", "key": "slack"}}
        ),
    ]
    apply(policy("held", HELD, notifications=notifications))
    start_operator("--no-leader-election", "--egress-allow", "10.0.0.0/8")
    apply(release("web", "web-a", "web-b", "held"))

    def refused() -> list[dict[str, Any]] | None:
        subscriptions = _status_of(read_release, "web").get("subscriptions") or []
        done = [s for s in subscriptions if s["result"] == "Refused"]
        return done if len(done) == 2 else None

    chat, ops = wait_for(refused, 60, "both refusals")
    assert "spec.notifications[0].webhook.url" in ops["message"]
    assert "egress allowlist (10.0.0.0/8)" in ops["message"]
    assert "spec.notifications[1].slack.urlSecretRef" in chat["message"]
    assert "link-local or cloud metadata" in chat["message"]
    assert "secret-path" not in str(read_release("web")["status"])
    condition = condition_of(read_release("web"), "NotificationsDelivered")
    assert condition is not None and condition["reason"] == "Refused"
    assert receiver.requests() == []
    assert read_release("web")["status"]["weights"]["candidate"] == 50
