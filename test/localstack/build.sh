#!/usr/bin/env bash
# build.sh builds the local stack's servers from the Go module proxy into a
# per-user cache outside the clone, keyed by version, each only when missing.
# Prints the bin folder on its last line. Safe to run concurrently with itself
# only in the sense that a half-built binary is never visible: each component is
# built into a temporary folder and renamed into place.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${HEADROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/headroom}
bin=$cache/bin
mkdir -p "$bin"

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
METRICS_SERVER_VERSION=v0.8.0
INFLUXDB_VERSION=v1.8.10
ALERTMANAGER_VERSION=v0.31.1

log() { printf '%s build: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# component NAME VERSION FILE... : true when every FILE exists in $bin/NAME-VERSION.
have() {
  local dir=$bin/$1-$2; shift 2
  for f in "$@"; do [ -x "$dir/$f" ] || return 1; done
}

# install_into NAME VERSION FUNC: runs FUNC with $out set to a temporary folder,
# then moves it into place atomically.
install_into() {
  local name=$1 version=$2 fn=$3 dir=$bin/$1-$2
  local out; out=$(mktemp -d "$bin/.$name-$version.XXXXXX")
  local start=$SECONDS
  log "$name $version: building (this happens once per machine)"
  if ! "$fn" "$out"; then
    rm -rf "$out"; log "$name $version: build failed"; return 1
  fi
  rm -rf "$dir"; mv "$out" "$dir"
  log "$name $version: built in $((SECONDS - start))s"
}

build_kubernetes() {
  local out=$1 pkg=k8s.io/component-base/version
  local ld="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=37 -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  (cd "$here/k8s" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ld" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler)
}

build_etcd() {
  (cd "$here/etcd" && GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$1/etcd" go.etcd.io/etcd/server/v3)
}

goinstall() { # out pkg@version [ldflags]
  GOBIN=$1 go install -trimpath -ldflags "-s -w ${3:-}" "$2"
}
build_kwok() { goinstall "$1" sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION; }
build_metrics_server() { goinstall "$1" sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION; }
build_influxd() { goinstall "$1" github.com/influxdata/influxdb/cmd/influxd@$INFLUXDB_VERSION "-X main.version=${INFLUXDB_VERSION#v}"; }
build_alertmanager() { goinstall "$1" github.com/prometheus/alertmanager/cmd/alertmanager@$ALERTMANAGER_VERSION; }

have kubernetes $K8S_VERSION kube-apiserver kube-controller-manager kube-scheduler || install_into kubernetes $K8S_VERSION build_kubernetes
have etcd $ETCD_VERSION etcd || install_into etcd $ETCD_VERSION build_etcd
have kwok $KWOK_VERSION kwok || install_into kwok $KWOK_VERSION build_kwok
have metrics-server $METRICS_SERVER_VERSION metrics-server || install_into metrics-server $METRICS_SERVER_VERSION build_metrics_server
have influxdb $INFLUXDB_VERSION influxd || install_into influxdb $INFLUXDB_VERSION build_influxd
have alertmanager $ALERTMANAGER_VERSION alertmanager || install_into alertmanager $ALERTMANAGER_VERSION build_alertmanager

# Debian's chromium, for the capacity page's browser test (test/e2e/page_test.go).
install_chromium() {
  command -v chromium >/dev/null && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "chromium: not installed, and this is not root on Debian: install the chromium package"; return 1
  fi
  local start=$SECONDS
  log "chromium: installing Debian's package (once per machine)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null; } ||
    { log "chromium: apt-get install chromium failed"; return 1; }
  log "chromium: installed in $((SECONDS - start))s"
}
install_chromium

# A manifest the Go side reads: component=path, one per line.
manifest=$bin/manifest-$K8S_VERSION.env
{
  echo "kube-apiserver=$bin/kubernetes-$K8S_VERSION/kube-apiserver"
  echo "kube-controller-manager=$bin/kubernetes-$K8S_VERSION/kube-controller-manager"
  echo "kube-scheduler=$bin/kubernetes-$K8S_VERSION/kube-scheduler"
  echo "etcd=$bin/etcd-$ETCD_VERSION/etcd"
  echo "kwok=$bin/kwok-$KWOK_VERSION/kwok"
  echo "metrics-server=$bin/metrics-server-$METRICS_SERVER_VERSION/metrics-server"
  echo "influxd=$bin/influxdb-$INFLUXDB_VERSION/influxd"
  echo "alertmanager=$bin/alertmanager-$ALERTMANAGER_VERSION/alertmanager"
} > "$manifest.tmp" && mv "$manifest.tmp" "$manifest"
echo "$manifest"
