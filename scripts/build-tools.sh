#!/usr/bin/env bash
# Build the local cluster's binaries from their Go modules, cached outside the repository.
#
# Every tool lands in $SLUICE_TOOLS/<name>-<version>/ and is built only when that folder
# lacks it, so the first run is slow (about half an hour on 2 cores) and later runs are instant.
# Versions live in scripts/versions.env, the single place to change them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

TOOLS="${SLUICE_TOOLS:-$HOME/.cache/sluice/tools}"
export GOFLAGS="-mod=mod"
export CGO_ENABLED=0
mkdir -p "$TOOLS"

log() { printf '[build-tools] %s\n' "$*" >&2; }

module_gomod() {  # print the path of a module's go.mod in the module cache
  go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])'
}

module_dir() {  # print the path of a module's source in the module cache
  go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'
}

build_kubernetes() {
  local out="$TOOLS/kubernetes-$KUBERNETES_VERSION"
  if [[ -x "$out/kube-apiserver" && -x "$out/kubectl" && -x "$out/kube-scheduler" && -x "$out/kube-controller-manager" ]]; then
    return
  fi
  log "building Kubernetes v$KUBERNETES_VERSION (slow the first time)"
  local work="$TOOLS/src/kubernetes-$KUBERNETES_VERSION"
  mkdir -p "$work" "$out"
  local minor="${KUBERNETES_VERSION#*.}"; minor="${minor%%.*}"
  local staging_version="v0.${KUBERNETES_VERSION#1.}"
  local upstream_gomod
  upstream_gomod="$(module_gomod "k8s.io/kubernetes@v$KUBERNETES_VERSION")"
  {
    echo "module sluice.local/kubernetes-build"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes v$KUBERNETES_VERSION"
    echo
    # k8s.io/kubernetes replaces its staging modules with relative paths; point them at
    # the published modules of the matching version instead.
    grep -E '=>[[:space:]]*\./staging/src/' "$upstream_gomod" | awk '{print $1}' | sort -u |
      while read -r staged; do echo "replace $staged => $staged $staging_version"; done
  } >"$work/go.mod"
  local pkgs=(cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubectl)
  local ldflags="" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=v$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (
    cd "$work"
    for pkg in "${pkgs[@]}"; do
      log "  go build k8s.io/kubernetes/$pkg"
      go build -trimpath -tags selinux,notest -ldflags "-s -w $ldflags" \
        -o "$out/$(basename "$pkg")" "k8s.io/kubernetes/$pkg"
    done
  )
}

build_etcd() {
  local out="$TOOLS/etcd-$ETCD_VERSION"
  [[ -x "$out/etcd" ]] && return
  log "building etcd v$ETCD_VERSION"
  local work="$TOOLS/src/etcd-$ETCD_VERSION"
  mkdir -p "$work" "$out"
  {
    echo "module sluice.local/etcd-build"
    echo
    echo "go 1.23"
    echo
    echo "require go.etcd.io/etcd/server/v3 v$ETCD_VERSION"
    echo
    local m
    for m in api/v3 client/pkg/v3 client/v3 pkg/v3 raft/v3 server/v3; do
      echo "replace go.etcd.io/etcd/$m => go.etcd.io/etcd/$m v$ETCD_VERSION"
    done
    # client/v2 is versioned v2.305.x alongside etcd 3.5.x
    echo "replace go.etcd.io/etcd/client/v2 => go.etcd.io/etcd/client/v2 v2.305.${ETCD_VERSION##*.}"
  } >"$work/go.mod"
  (cd "$work" && go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
}

build_go_install() {  # name version package...: plain `go install` for modules without replaces
  local name="$1" version="$2"; shift 2
  local out="$TOOLS/$name-$version" pkg
  for pkg in "$@"; do
    [[ -x "$out/$(basename "${pkg%@*}")" ]] || {
      log "building $pkg"
      mkdir -p "$out"
      GOFLAGS="" GOBIN="$out" go install -trimpath -ldflags "-s -w" "$pkg"
    }
  done
}

fetch_gateway_api_crds() {
  local out="$TOOLS/gateway-api-$GATEWAY_API_VERSION"
  [[ -f "$out/standard-install.yaml" ]] && return
  log "collecting Gateway API v$GATEWAY_API_VERSION CRDs"
  mkdir -p "$out"
  local src
  src="$(module_dir "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION")"
  local f
  for f in "$src"/config/crd/standard/*.yaml; do
    cat "$f"; echo "---"
  done >"$out/standard-install.yaml.tmp"
  mv "$out/standard-install.yaml.tmp" "$out/standard-install.yaml"
}

what="${1:-all}"
case "$what" in
  kubernetes) build_kubernetes ;;
  etcd) build_etcd ;;
  kwok) build_go_install kwok "$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@v$KWOK_VERSION" ;;
  helm) build_go_install helm "$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" ;;
  gateway-api) fetch_gateway_api_crds ;;
  all)
    "$0" kubernetes
    "$0" etcd
    "$0" kwok
    "$0" helm
    "$0" gateway-api
    ;;
  *) echo "unknown tool: $what (kubernetes, etcd, kwok, helm, gateway-api, all)" >&2; exit 2 ;;
esac
