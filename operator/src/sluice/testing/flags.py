"""Feature flags in tests: the FeatureFlag CRD from the shared folder, flag objects, watches."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, watch

from sluice.api.flags import FLAG_GROUP, FLAG_PLURAL, FLAG_VERSION
from sluice.testing.cluster import REPO_ROOT
from sluice.testing.kube import install_crds


def openfeature_crd_dir() -> Path:
    """Where the OpenFeature Operator's CRDs are (never copied into the repository)."""
    configured = os.environ.get("SLUICE_OPENFEATURE_CRDS")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "crds" / "openfeature"


def install_featureflag_crd(api_client: Any) -> list[str]:
    """Install the FeatureFlag CRD (core.openfeature.dev/v1beta1); fail clearly without it."""
    folder = openfeature_crd_dir()
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise FileNotFoundError(
            f"the FeatureFlag CRD is missing: no *.yaml in {folder} (set SLUICE_OPENFEATURE_CRDS)"
        )
    return install_crds(api_client, files)


def feature_flag(name: str, flags: dict[str, Any]) -> dict[str, Any]:
    """A FeatureFlag manifest with these flags (key -> definition)."""
    return {
        "apiVersion": f"{FLAG_GROUP}/{FLAG_VERSION}",
        "kind": "FeatureFlag",
        "metadata": {"name": name},
        "spec": {"flagSpec": {"flags": flags}},
    }


def boolean_flag(default: str = "on", state: str = "ENABLED") -> dict[str, Any]:
    """A flag definition with variants on (true) and off (false)."""
    return {"state": state, "variants": {"on": True, "off": False}, "defaultVariant": default}


def read_feature_flag(api_client: Any, namespace: str, name: str) -> dict[str, Any]:
    """A FeatureFlag object as a dict."""
    found: dict[str, Any] = client.CustomObjectsApi(api_client).get_namespaced_custom_object(
        FLAG_GROUP, FLAG_VERSION, namespace, FLAG_PLURAL, name
    )
    return found


@dataclass(frozen=True)
class Seen:
    """One watch event: when it arrived, the object's resourceVersion, the object."""

    at: float  # time.monotonic()
    resource_version: int
    body: dict[str, Any]


@dataclass
class Recorder:
    """Records every watch event of one kind in a namespace, in a background thread."""

    api_client: Any
    namespace: str
    kind: str  # "featureflags" or "deployments"
    events: list[Seen] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Recorder:
        """Start watching."""
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            stream = watch.Watch()
            if self.kind == "featureflags":
                api = client.CustomObjectsApi(self.api_client)
                lister: Any = api.list_namespaced_custom_object
                args: tuple[Any, ...] = (FLAG_GROUP, FLAG_VERSION, self.namespace, FLAG_PLURAL)
            else:
                lister = client.AppsV1Api(self.api_client).list_namespaced_deployment
                args = (self.namespace,)
            try:
                for event in stream.stream(lister, *args, timeout_seconds=5):
                    body = event["object"]
                    if not isinstance(body, dict):
                        body = self.api_client.sanitize_for_serialization(body)
                    version = int(body["metadata"]["resourceVersion"])
                    self.events.append(Seen(time.monotonic(), version, body))
                    if self._stop.is_set():
                        break
            except Exception:  # a dropped watch is started again
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
