#!/usr/bin/env bash
# Installs what the test suite needs that pip cannot, from Debian's packages. Does nothing when it is there.
#   openssh-server   OpenSSH's sshd, which the SFTP tests start on a free port of 127.0.0.1 with a throwaway host key
#   chromium         the headless browser in which the status page test reads the page (tests/test_status_page.py)
#   chromium-driver  its WebDriver (/usr/bin/chromedriver), through which Selenium drives it
#   wordpress        WordPress 6.1, which the WordPress source's tests copy into a temporary folder, install and serve
#   php-cli          ... with PHP's built-in server (php -S 127.0.0.1:PORT), no Apache
#   php-mysql        ... against MariaDB/MySQL on 127.0.0.1:3306 (the machine's; the tests skip, saying so, without one)
#   newsboat         a real feed reader, run headless, that must see a kill notice replace the story
# Debian's wordpress wants a web server and a PHP SAPI: webfs and php-cgi satisfy that, and the trailing '-' on
# libapache2-mod-php refuses the module that would bring Apache in.
# MariaDB and PostgreSQL are not installed here: the SQL source's and the store's tests use the servers on
# 127.0.0.1 where they answer, and skip with the reason where not.
set -euo pipefail
missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
[ -x /usr/bin/newsboat ] || missing+=(newsboat)
wordpress=()
[ -f /usr/share/wordpress/wp-load.php ] || wordpress+=(wordpress)
command -v php >/dev/null 2>&1 || wordpress+=(php-cli)
{ command -v php >/dev/null 2>&1 && php -m 2>/dev/null | grep -qi '^mysqli$'; } || wordpress+=(php-mysql)
if [ "${#missing[@]}" -eq 0 ] && [ "${#wordpress[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test-services: ${missing[*]} ${wordpress[*]} missing and this is not root: the tests that need them will skip." >&2
  echo "test-services: install with: sudo apt-get install ${missing[*]} ${wordpress[*]}" >&2
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  echo "test-services: installing ${missing[*]} ${wordpress[*]} for the SFTP, browser and WordPress tests" >&2
  apt-get update -qq
  if [ "${#missing[@]}" -ne 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if [ "${#wordpress[@]}" -ne 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      wordpress php-cli php-mysql webfs php-cgi libapache2-mod-php- >/dev/null
  fi
  # Debian's openssh-server starts a system sshd where it can; the tests run their own on a free port.
else
  echo "test-services: no apt-get here; the tests that need ${missing[*]} ${wordpress[*]} will skip." >&2
fi
