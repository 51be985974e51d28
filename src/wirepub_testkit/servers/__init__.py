"""Real servers on 127.0.0.1 for wirepub's tests and benchmarks: ``http`` (an HTTP(S) receiver), ``s3``
(moto's S3 server, one enforcing IAM, a scripted one), ``ssh`` (OpenSSH's sshd), ``ftp`` (pyftpdlib FTP and
FTPS). Each is started by a function or class here and stopped within a bounded time.

Where a server cannot run on this machine (no sshd installed, say) its starter raises ``ServerUnavailable``
saying what is missing and how to get it: the tests' fixtures skip on it, a benchmark exits with it.
"""

from __future__ import annotations


class ServerUnavailable(RuntimeError):
    """This machine cannot run the server (a program or package is missing); the message says what to do."""
