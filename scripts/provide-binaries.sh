#!/usr/bin/env bash
# Provides what the tests run against: the Temporal CLI (dev server) and OpenBao (a Vault-API server),
# each looked for first, then built once from the Go module proxy into a cache outside the repository
# and reused; Chromium for the Temporal UI test, looked for, then installed with apt-get on
# Debian/Ubuntu as root; for the Kuma suites only, the real kuma-cp and kumactl, unpacked from
# `../shared/kuma/*.xz` beside the checkout when that folder exists (never downloaded); and, for
# Kubernetes mode, kube-apiserver built like OpenBao (etcd comes from Debian's etcd-server).
# Prints what it did; the last lines are `temporal=PATH`, `bao=PATH`, `chromium=PATH`, `kuma-cp=PATH`,
# `kumactl=PATH`, `kube-apiserver=PATH` (empty when unavailable) for scripts to read; `temporal-server`
# prints `server=PATH` and `sql-tool=PATH` (the Temporal server and its schema tool, for the
# PostgreSQL test). When something `npm test` needs cannot be provided it stops with one line saying
# what to install.
# Usage: provide-binaries.sh [temporal] [bao] [chromium] [kuma-cp] [kumactl] [temporal-server] [kube-apiserver]
#        (default: temporal, bao and chromium)
set -euo pipefail

cache_dir="${MESH_CA_ROTATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mesh-ca-rotator}"
bin_dir="$cache_dir/bin"
mkdir -p "$bin_dir"

TEMPORAL_CLI_VERSION="v1.5.1"
# OpenBao's v2 tags are not valid Go versions for its module path, so a pseudo-version of a release
# commit is pinned. This one is the v2.4.0 release commit, which the module proxy serves.
OPENBAO_PSEUDO_VERSION="v0.0.0-20250828202315-f9407a27fbee"
OPENBAO_API_VERSION="v2.4.0"
KUBERNETES_VERSION="v1.37.2"

say() { echo "provide-binaries: $*" >&2; }

have_go() { command -v go >/dev/null 2>&1; }

provide_temporal() {
  if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ]; then
    say "temporal: using TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH"; echo "$TEMPORAL_CLI_PATH"; return
  fi
  if command -v temporal >/dev/null 2>&1; then
    say "temporal: using $(command -v temporal) from PATH"; command -v temporal; return
  fi
  if [ -x "$bin_dir/temporal" ]; then
    say "temporal: using cached $bin_dir/temporal"; echo "$bin_dir/temporal"; return
  fi
  if ! have_go; then
    say "temporal: not found and no Go toolchain; the Temporal SDK will download a dev server (needs internet)"; echo ""; return
  fi
  say "temporal: building github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION (first time only, a few minutes)"
  local start=$SECONDS
  GOBIN="$bin_dir" GOFLAGS=-buildvcs=false go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" >&2
  say "temporal: built in $((SECONDS - start)) s"
  echo "$bin_dir/temporal"
}

provide_bao() {
  if [ -n "${VAULT_ADDR:-}" ] && [ -n "${VAULT_TOKEN:-}" ]; then
    say "bao: VAULT_ADDR is set, tests use the existing server at $VAULT_ADDR"; echo ""; return
  fi
  if [ -n "${BAO_PATH:-}" ] && [ -x "$BAO_PATH" ]; then
    say "bao: using BAO_PATH=$BAO_PATH"; echo "$BAO_PATH"; return
  fi
  if command -v bao >/dev/null 2>&1; then
    say "bao: using $(command -v bao) from PATH"; command -v bao; return
  fi
  if [ -x "$bin_dir/bao" ]; then
    say "bao: using cached $bin_dir/bao"; echo "$bin_dir/bao"; return
  fi
  if ! have_go; then
    say "bao: not found and no Go toolchain: set VAULT_ADDR and VAULT_TOKEN, or install Go"; exit 1
  fi
  say "bao: building OpenBao ($OPENBAO_PSEUDO_VERSION) from the Go module proxy (first time only, several minutes)"
  local start=$SECONDS src="$cache_dir/openbao-wrapper"
  mkdir -p "$src"
  cat > "$src/go.mod" <<GOMOD
module meshcarotator/openbao

go 1.22

require (
	github.com/openbao/openbao $OPENBAO_PSEUDO_VERSION
	github.com/openbao/openbao/api/v2 $OPENBAO_API_VERSION
	github.com/openbao/openbao/sdk/v2 $OPENBAO_API_VERSION
)
GOMOD
  cat > "$src/main.go" <<'GOMAIN'
// A tiny wrapper so `go build` can produce the `bao` binary from the module proxy.
package main

import (
	"os"

	"github.com/openbao/openbao/command"
)

func main() { os.Exit(command.Run(os.Args[1:])) }
GOMAIN
  # Some of OpenBao's dependencies are missing from the checksum database; the module proxy still serves them.
  ( cd "$src" && GONOSUMDB=github.com/openbao GOFLAGS=-buildvcs=false \
      go get "github.com/openbao/openbao/command@$OPENBAO_PSEUDO_VERSION" >&2 \
    && GONOSUMDB=github.com/openbao GOFLAGS=-buildvcs=false go build -mod=mod -o "$bin_dir/bao" . >&2 )
  say "bao: built in $((SECONDS - start)) s"
  echo "$bin_dir/bao"
}

KUMA_VERSION="2.14.3"
# The Kuma binaries are not in any registry the project may use: they come unpacked from the folder
# beside the checkout (see its README), or from KUMA_CP_PATH / KUMACTL_PATH.
kuma_source_dir="${KUMA_BINARIES_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/kuma}"

# provide_kuma NAME OVERRIDE_VALUE: prints the path of kuma-cp or kumactl, or nothing when absent.
provide_kuma() {
  local name="$1" override="$2" packed="$kuma_source_dir/$1-$KUMA_VERSION-linux-amd64.xz" cached="$bin_dir/$1-$KUMA_VERSION"
  if [ -n "$override" ]; then
    if [ -x "$override" ]; then say "$name: using $override"; echo "$override"; return; fi
    say "$name: $override (from the environment) is not an executable file"; echo ""; return
  fi
  if [ -x "$cached" ]; then say "$name: using cached $cached"; echo "$cached"; return; fi
  if [ ! -f "$packed" ]; then say "$name: not provided ($packed is absent)"; echo ""; return; fi
  say "$name: unpacking $packed"
  xz -dc "$packed" > "$cached.partial" && chmod +x "$cached.partial" && mv "$cached.partial" "$cached"
  echo "$cached"
}
provide_kuma_cp() { provide_kuma kuma-cp "${KUMA_CP_PATH:-}"; }
provide_kumactl() { provide_kuma kumactl "${KUMACTL_PATH:-}"; }

TEMPORAL_SERVER_VERSION="v1.29.1"

# The Temporal server itself and its SQL schema tool, for the production-topology test (PostgreSQL).
# Prints two lines `server=PATH` and `sql-tool=PATH` (empty when unavailable).
provide_temporal_server() {
  local server="${TEMPORAL_SERVER_PATH:-}" tool="${TEMPORAL_SQL_TOOL_PATH:-}"
  [ -n "$server" ] && [ -x "$server" ] || server="$bin_dir/temporal-server"
  [ -n "$tool" ] && [ -x "$tool" ] || tool="$bin_dir/temporal-sql-tool"
  if [ -x "$server" ] && [ -x "$tool" ]; then
    say "temporal-server: using $server and $tool"; echo "server=$server"; echo "sql-tool=$tool"; return
  fi
  if ! have_go; then
    say "temporal-server: not found and no Go toolchain (set TEMPORAL_SERVER_PATH and TEMPORAL_SQL_TOOL_PATH)"
    echo "server="; echo "sql-tool="; return
  fi
  say "temporal-server: building go.temporal.io/server/cmd/{server,tools/sql}@$TEMPORAL_SERVER_VERSION (first time only, several minutes)"
  local start=$SECONDS work
  work="$(mktemp -d)"
  GOBIN="$work" GOFLAGS=-buildvcs=false go install \
    "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" \
    "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION" >&2
  mv "$work/server" "$bin_dir/temporal-server"
  mv "$work/sql" "$bin_dir/temporal-sql-tool"
  rmdir "$work"
  say "temporal-server: built in $((SECONDS - start)) s"
  echo "server=$bin_dir/temporal-server"; echo "sql-tool=$bin_dir/temporal-sql-tool"
}

# kube-apiserver cannot be `go install`ed (k8s.io/kubernetes replaces its staging modules with local
# paths), so a wrapper module requires it and replaces each staging module by its published v0.x release.
provide_kube_apiserver() {
  if [ -n "${KUBE_APISERVER_PATH:-}" ] && [ -x "$KUBE_APISERVER_PATH" ]; then
    say "kube-apiserver: using KUBE_APISERVER_PATH=$KUBE_APISERVER_PATH"; echo "$KUBE_APISERVER_PATH"; return
  fi
  if command -v kube-apiserver >/dev/null 2>&1; then
    say "kube-apiserver: using $(command -v kube-apiserver) from PATH"; command -v kube-apiserver; return
  fi
  if [ -x "$bin_dir/kube-apiserver" ]; then
    say "kube-apiserver: using cached $bin_dir/kube-apiserver"; echo "$bin_dir/kube-apiserver"; return
  fi
  if ! have_go; then
    say "kube-apiserver: not found and no Go toolchain: set KUBE_APISERVER_PATH, or install Go"; echo ""; return
  fi
  say "kube-apiserver: building k8s.io/kubernetes $KUBERNETES_VERSION from the Go module proxy (first time only, ~10 minutes)"
  local start=$SECONDS src="$cache_dir/kube-apiserver-wrapper"
  local staging_version="v0.${KUBERNETES_VERSION#v1.}"
  mkdir -p "$src"
  local kubernetes_mod
  kubernetes_mod="$(cd "$src" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
  {
    printf 'module meshcarotator/kubeapiserver\n\ngo 1.24\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBERNETES_VERSION"
    sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging_version"'#p' "$kubernetes_mod"
    printf ')\n'
  } > "$src/go.mod"
  cat > "$src/tools.go" <<'GOTOOLS'
//go:build tools

// Keeps k8s.io/kubernetes/cmd/kube-apiserver (a main package) in this module's graph; it is built with
// `go build k8s.io/kubernetes/cmd/kube-apiserver`, using its own main.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GOTOOLS
  ( cd "$src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go mod tidy >&2 \
    && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -mod=mod -trimpath \
         -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION" \
         -o "$bin_dir/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2 )
  say "kube-apiserver: built in $((SECONDS - start)) s"
  echo "$bin_dir/kube-apiserver"
}

# Chromium drives the Temporal UI test (playwright-core uses this browser; it downloads none).
# CHROMIUM_INSTALL=no only looks (the test harness asks this way, so a test run never installs).
provide_chromium() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then
    say "chromium: using CHROMIUM_PATH=$CHROMIUM_PATH"; echo "$CHROMIUM_PATH"; return
  fi
  local name
  for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then
      say "chromium: using $(command -v "$name") from PATH"; command -v "$name"; return
    fi
  done
  if [ "${CHROMIUM_INSTALL:-yes}" = no ]; then echo ""; return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "chromium: installing the Debian package with apt-get (first time only)"
    local start=$SECONDS
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || { say "chromium: apt-get install chromium failed"; exit 1; }
    say "chromium: installed in $((SECONDS - start)) s"
    command -v chromium; return
  fi
  say "chromium: not found. Install it (Debian/Ubuntu: sudo apt-get install chromium; Fedora: sudo dnf install chromium; macOS: brew install --cask chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary"
  exit 1
}

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(temporal bao chromium)
for what in "${wanted[@]}"; do
  # A failed look-up has said why on stderr; stop there rather than print an empty path.
  case "$what" in
    temporal) found=$(provide_temporal) || exit 1; echo "temporal=$found" ;;
    bao) found=$(provide_bao) || exit 1; echo "bao=$found" ;;
    chromium) found=$(provide_chromium) || exit 1; echo "chromium=$found" ;;
    kuma-cp) echo "kuma-cp=$(provide_kuma_cp)" ;;
    kumactl) echo "kumactl=$(provide_kumactl)" ;;
    temporal-server) provide_temporal_server ;;
    kube-apiserver) echo "kube-apiserver=$(provide_kube_apiserver)" ;;
    *) say "unknown binary '$what' (expected temporal, bao, chromium, kuma-cp, kumactl, temporal-server or kube-apiserver)"; exit 2 ;;
  esac
done
