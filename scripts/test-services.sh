#!/usr/bin/env bash
# Installs what the test suite needs that pip cannot, from Debian's packages. Does nothing when it is there.
#   openssh-server   OpenSSH's sshd, which the SFTP tests start on a free port of 127.0.0.1 with a throwaway host key
#   chromium         the headless browser in which the status page test reads the page (tests/test_status_page.py)
#   chromium-driver  its WebDriver (/usr/bin/chromedriver), through which Selenium drives it
#   newsboat         a real feed reader, run headless, that must see a kill notice replace the story
set -euo pipefail
missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
[ -x /usr/bin/newsboat ] || missing+=(newsboat)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test-services: ${missing[*]} missing and this is not root: the tests that need them will skip." >&2
  echo "test-services: install with: sudo apt-get install ${missing[*]}" >&2
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  echo "test-services: installing ${missing[*]} for the SFTP and browser tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's openssh-server starts a system sshd where it can; the tests run their own on a free port.
else
  echo "test-services: no apt-get here; the tests that need ${missing[*]} will skip." >&2
fi
