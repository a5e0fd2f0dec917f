#!/usr/bin/env bash
# Installs the real peers the tests run against: Debian packages, and Go programs built from
# the Go module proxy into .tools/ (git-ignored; skipped when already built). Nothing here
# downloads a prebuilt binary from anywhere but the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

log() { printf '[install-tools] %s\n' "$*" >&2; }

# docker-registry and apache2-utils (htpasswd): the registry the distribution tests push to.
# age: the reference age CLI the mirror encryption interop tests decrypt and encrypt with.
# chromium: the browser the web console test drives with puppeteer-core (never a downloaded
# browser build).
apt_packages=(zstd postgresql docker-registry apache2-utils age chromium)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# go_tool NAME VERSION MODULE [ENV...]: builds MODULE@VERSION into .tools/NAME/VERSION/.
go_tool() {
  local name=$1 version=$2 module=$3
  shift 3
  local dir=".tools/$name/$version"
  if [[ -x "$dir/$name" ]]; then
    return
  fi
  log "go install $module@$version (first build takes minutes)"
  mkdir -p "$dir"
  env GOBIN="$PWD/$dir" "$@" go install "$module@$version"
}

# The Temporal CLI (dev server). v1.5.1 is the newest release `go install` accepts.
go_tool temporal v1.5.1 github.com/temporalio/cli/cmd/temporal
mkdir -p .tools/bin
ln -sf "../temporal/v1.5.1/temporal" .tools/bin/temporal

# oras: an independent OCI tool that checks the mirror's OCI image layouts (mirror-oci test).
go_tool oras v1.2.3 oras.land/oras/cmd/oras

# crane: the independent OCI client the distribution tests pull pushed artifacts back with.
go_tool crane v0.21.9 github.com/google/go-containerregistry/cmd/crane
# MinIO, the S3 server of the distribution tests (a commit whose go.mod has no replace).
go_tool minio v0.0.0-20260212201848-7aac2a2c5b7c github.com/minio/minio

# The real Trivy, two newest minors (compatibility matrix). Trivy's own release build sets
# GOEXPERIMENT=jsonv2 (v0.74 imports encoding/json/v2).
go_tool trivy v0.74.0 github.com/aquasecurity/trivy/cmd/trivy GOEXPERIMENT=jsonv2
go_tool trivy v0.73.0 github.com/aquasecurity/trivy/cmd/trivy GOEXPERIMENT=jsonv2

# local-kms: a second KMS emulator that implements Sign with MessageType DIGEST (moto does
# not); the KMS DIGEST test starts it on 127.0.0.1.
go_tool local-kms v0.0.0-20260228092603-2a5e92d09ab6 github.com/nsmithuk/local-kms

# A KMS emulator for the KMS signer's tests (moto's server, from PyPI).
if ! command -v moto_server >/dev/null 2>&1; then
  log "pip install moto[server]"
  python3 -m pip install --quiet 'moto[server]'
fi
