#!/usr/bin/env bash
# The local cluster: a real kube-apiserver (RBAC on), controller-manager, scheduler and etcd,
# kwok playing 3 nodes, and a real Prometheus server. Usage: cluster.sh up|down|status|env
#
# State lives in .cluster/ (git-ignored): the admin kubeconfig is .cluster/kubeconfig.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

TOOLS="${SLUICE_TOOLS:-$HOME/.cache/sluice/tools}"
STATE="$repo/.cluster"
NAME="${SLUICE_CLUSTER_NAME:-sluice}"
NODES="${SLUICE_CLUSTER_NODES:-3}"
PROM_PORT="${SLUICE_PROMETHEUS_PORT:-19090}"
KUBECONFIG_PATH="$STATE/kubeconfig"
K8S_BIN="$TOOLS/kubernetes-$KUBERNETES_VERSION"
KWOKCTL="$TOOLS/kwok-$KWOK_VERSION/kwokctl"
PROMETHEUS="${SLUICE_PROMETHEUS_BINARY:-$(command -v prometheus || echo /usr/bin/prometheus)}"

export KWOK_WORKDIR="$STATE/kwok"
export PATH="$K8S_BIN:$TOOLS/helm-$HELM_VERSION:$PATH"

log() { printf '[cluster] %s\n' "$*" >&2; }

kubectl_() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

apiserver_ready() {
  [[ -f "$KUBECONFIG_PATH" ]] && kubectl_ get --raw /readyz >/dev/null 2>&1
}

prometheus_ready() {
  python3 - "$PROM_PORT" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/-/ready", timeout=2).read()
PY
}

nodes_ready() {
  local ready
  ready="$(kubectl_ get nodes --no-headers 2>/dev/null | awk '$2 == "Ready"' | wc -l)"
  [[ "$ready" -ge "$NODES" ]]
}

start_prometheus() {
  prometheus_ready && return
  mkdir -p "$STATE/prometheus/targets" "$STATE/prometheus/data"
  # Targets are registered by dropping JSON files into .cluster/prometheus/targets/.
  sed "s|@TARGETS_DIR@|$STATE/prometheus/targets|" "$here/prometheus.yml" >"$STATE/prometheus/prometheus.yml"
  log "starting Prometheus on 127.0.0.1:$PROM_PORT"
  nohup "$PROMETHEUS" \
    --config.file="$STATE/prometheus/prometheus.yml" \
    --storage.tsdb.path="$STATE/prometheus/data" \
    --storage.tsdb.retention.time=1d \
    --web.listen-address="127.0.0.1:$PROM_PORT" \
    --web.enable-lifecycle \
    >"$STATE/prometheus/prometheus.log" 2>&1 &
  echo $! >"$STATE/prometheus/pid"
  for _ in $(seq 1 60); do
    prometheus_ready && return
    sleep 0.5
  done
  log "Prometheus did not become ready; see $STATE/prometheus/prometheus.log"
  exit 1
}

stop_prometheus() {
  local pidfile="$STATE/prometheus/pid"
  if [[ -f "$pidfile" ]]; then
    local pid
    pid="$(cat "$pidfile")"
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  fi
}

create_cluster() {
  for bin in "$K8S_BIN/kube-apiserver" "$K8S_BIN/kubectl" "$KWOKCTL" "$TOOLS/etcd-$ETCD_VERSION/etcd"; do
    [[ -x "$bin" ]] || { log "missing $bin: run scripts/build-tools.sh first (make tools)"; exit 1; }
  done
  mkdir -p "$STATE"
  if [[ -d "$KWOK_WORKDIR/clusters/$NAME" ]]; then
    log "restarting the existing cluster $NAME"
    if "$KWOKCTL" start cluster --name "$NAME" --timeout 60s >&2 && apiserver_ready; then
      return
    fi
    log "restart failed; recreating the cluster"
    "$KWOKCTL" delete cluster --name "$NAME" >&2 || true
  fi
  log "creating the cluster $NAME (Kubernetes v$KUBERNETES_VERSION, etcd v$ETCD_VERSION, kwok v$KWOK_VERSION)"
  "$KWOKCTL" create cluster \
    --name "$NAME" \
    --runtime binary \
    --kube-apiserver-binary "$K8S_BIN/kube-apiserver" \
    --kube-controller-manager-binary "$K8S_BIN/kube-controller-manager" \
    --kube-scheduler-binary "$K8S_BIN/kube-scheduler" \
    --kwok-controller-binary "$TOOLS/kwok-$KWOK_VERSION/kwok" \
    --etcd-binary "$TOOLS/etcd-$ETCD_VERSION/etcd" \
    --kube-authorization=true \
    --kube-admission=true \
    --disable-qps-limits \
    --kubeconfig "$KUBECONFIG_PATH" \
    --wait 120s >&2
}

# The OpenFeature Operator's FeatureFlag CRD (issue 14), from the shared folder next to the
# repository (third-party data, never copied into it). Applied on every start: idempotent.
OPENFEATURE_CRDS="${SLUICE_OPENFEATURE_CRDS:-$repo/../shared/crds/openfeature}"

install_flag_crds() {
  if [[ ! -d "$OPENFEATURE_CRDS" ]] || ! ls "$OPENFEATURE_CRDS"/*.yaml >/dev/null 2>&1; then
    log "missing the FeatureFlag CRD: no *.yaml in $OPENFEATURE_CRDS (set SLUICE_OPENFEATURE_CRDS)"
    exit 1
  fi
  kubectl_ apply --server-side --force-conflicts -f "$OPENFEATURE_CRDS" >&2
  kubectl_ wait --for=condition=Established --timeout=60s \
    crd/featureflags.core.openfeature.dev >&2
}

up() {
  if apiserver_ready && nodes_ready && prometheus_ready; then
    install_flag_crds
    log "already up (kubeconfig: $KUBECONFIG_PATH, Prometheus: http://127.0.0.1:$PROM_PORT)"
    return
  fi
  apiserver_ready || create_cluster
  if ! nodes_ready; then
    log "adding $NODES kwok nodes"
    "$KWOKCTL" scale node --name "$NAME" --replicas "$NODES" >&2
    for _ in $(seq 1 120); do nodes_ready && break; sleep 0.5; done
    nodes_ready || { log "nodes did not become Ready"; exit 1; }
  fi
  start_prometheus
  install_flag_crds
  log "up: kubeconfig $KUBECONFIG_PATH, Prometheus http://127.0.0.1:$PROM_PORT"
}

down() {
  stop_prometheus
  if [[ -x "$KWOKCTL" && -d "$KWOK_WORKDIR/clusters/$NAME" ]]; then
    "$KWOKCTL" delete cluster --name "$NAME" >&2 || true
  fi
  rm -rf "$STATE"
  log "down: every process stopped, $STATE removed"
}

status() {
  if apiserver_ready; then echo "kube-apiserver: ready"; else echo "kube-apiserver: down"; fi
  if prometheus_ready; then echo "prometheus: ready (http://127.0.0.1:$PROM_PORT)"; else echo "prometheus: down"; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env)
    echo "export KUBECONFIG=$KUBECONFIG_PATH"
    echo "export PATH=$K8S_BIN:$TOOLS/helm-$HELM_VERSION:\$PATH"
    echo "export SLUICE_PROMETHEUS_URL=http://127.0.0.1:$PROM_PORT"
    ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
