#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (a test tool's own browser download fails offline).
# Installs it when missing and we may (root, apt available); otherwise those tests skip and say why.
set -u
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "chromium could not be installed: the browser tests will be skipped" >&2
else
  echo "chromium is not installed (apt-get install chromium): the browser tests will be skipped" >&2
fi
exit 0
