#!/usr/bin/env bash
# Installs what the test suite needs that pip cannot: OpenSSH's sshd (Debian openssh-server), which the
# SFTP tests start on a free port of 127.0.0.1 with a throwaway host key. Does nothing when it is there.
set -euo pipefail
if [ -x /usr/sbin/sshd ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test-services: /usr/sbin/sshd is missing and this is not root: the SFTP tests will skip." >&2
  echo "test-services: install it with: sudo apt-get install openssh-server" >&2
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  echo "test-services: installing openssh-server for the SFTP tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
  # Debian's package starts a system sshd where it can; the tests run their own on a free port.
else
  echo "test-services: no apt-get here; the SFTP tests will skip without /usr/sbin/sshd." >&2
fi
