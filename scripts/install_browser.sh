#!/usr/bin/env bash
# Install the headless browser the UI end-to-end test drives (pipeline_project_tests/e2e/test_ui.py):
# Debian's chromium plus a font so pages render text. Idempotent: does nothing when already installed.
set -euo pipefail

APT_PACKAGES=(chromium fonts-dejavu-core)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "==> installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "==> browser: $(chromium --version 2>/dev/null || echo 'chromium not found')"
