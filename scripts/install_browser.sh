#!/usr/bin/env bash
# Install the headless browser the UI end-to-end test drives (pipeline_project_tests/e2e/test_ui.py):
# Debian's chromium plus a font so pages render text. Idempotent: does nothing when already installed.
set -euo pipefail

bash "$(dirname "$0")/apt_install.sh" chromium fonts-dejavu-core
echo "==> browser: $(chromium --version 2>/dev/null || echo 'chromium not found')"
