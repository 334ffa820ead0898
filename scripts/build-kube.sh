#!/usr/bin/env bash
# Builds a real kube-apiserver and kubectl from the k8s.io/kubernetes Go module, for
# validating deploy/ with `kubectl apply --dry-run=server` against etcd from Debian
# (apt-get install -y etcd-server etcd-client). Used by `make tools` (see the Makefile's
# KUBE_VERSION) and deploy/deploytest.
#
# usage: scripts/build-kube.sh OUT_DIR [K8S_VERSION]   (default v1.36.3; ~4 min on 2 cores)
#
# k8s.io/kubernetes replaces its k8s.io/* dependencies with ./staging, so `go install`
# refuses it; this copies the module, swaps those replaces for the published
# k8s.io/* v0.X.Y modules and builds both commands in one go (they share most packages).
# Adapted from the team's tools/build-kube-apiserver.sh.
set -euo pipefail
out=${1:?usage: build-kube.sh OUT_DIR [K8S_VERSION]}
ver=${2:-v1.36.3}
minor=v0.${ver#v1.}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOWORK=off GOFLAGS=-mod=mod
go mod download "k8s.io/kubernetes@$ver"
cp -r "$(go env GOMODCACHE)/k8s.io/kubernetes@$ver" "$work/k"
chmod -R u+w "$work/k"
cd "$work/k"
for m in $(grep -E "=> ./staging" go.mod | awk '{print $1}'); do
  if [ "$m" = k8s.io/sample-cli-plugin ]; then go mod edit -dropreplace="$m" -droprequire="$m"; continue; fi
  go mod edit -dropreplace="$m" -require="$m@$minor"
done
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$ver" | cut -d. -f2) -X $pkg.gitTreeState=clean"
# kubectl reads its version from client-go's copy of the version variables too.
ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$ver -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$(echo "$ver" | cut -d. -f2)"
CGO_ENABLED=0 go build -trimpath -o "$out/" -ldflags "$ldflags" ./cmd/kube-apiserver ./cmd/kubectl
echo "built $out/kube-apiserver and $out/kubectl ($ver)"
