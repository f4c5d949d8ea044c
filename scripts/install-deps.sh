#!/usr/bin/env bash
# Installs the real components the tests use, from Debian: the CNCF distribution registry, skopeo, umoci,
# bubblewrap (the sandbox backend) and a static busybox (the sandbox tests' root filesystem).
set -euo pipefail
need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v umoci >/dev/null 2>&1 || need+=(umoci)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Debian package may start a registry on :5000 as a service; the tests start their own on free ports.
echo "deps: docker-registry $(docker-registry --version 2>/dev/null | awk '{print $3}'), $(skopeo --version), $(umoci --version), $(bwrap --version), busybox $(busybox --help 2>/dev/null | head -1 | awk '{print $2}')"
