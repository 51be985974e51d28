"""wirepub's test kit: the real servers and the helpers that wirepub's tests (``tests/``) and benchmarks
(``bench/``) share. For tests and benchmarks only: wirepub itself never imports it, and it needs the
``test`` extra (``pip install -e '.[test]'``: moto, trustme, pyftpdlib, pyopenssl).

It is a package of its own, beside ``wirepub`` in ``src/``, so that ``bench/`` imports it like any installed
package (no ``sys.path`` games, no reaching into ``tests/``) and mypy checks it as strictly as ``wirepub``.
pytest fixtures stay in ``tests/`` (``tests/server_fixtures.py``, loaded by ``tests/conftest.py``); what is
here knows nothing of pytest.

Modules:

- ``ports``: free ports on 127.0.0.1, a closed port, waiting until something listens.
- ``waiting``: ``wait_until``, the one bounded wait (poll a condition until it holds or time is up).
- ``daemon``: ``Running``, `wirepub run` in a real process with its JSON log lines; dropping a story into a
  hot folder the way a CMS should.
- ``watching``: ``FolderWatcher``, a background lister that sees what a reader of a folder would see.
- ``corpus``: the raw Wikinews records of ``../shared/corpus`` as wirepub stories.
- ``servers.http``: ``Receiver``, an HTTP(S) receiver that records requests and answers as scripted.
- ``servers.s3``: ``MotoServer`` (moto's S3 server in a subprocess), an IAM-enforcing one, a scripted one.
- ``servers.ssh``: OpenSSH's ``sshd`` with throwaway keys, for SFTP.
- ``servers.ftp``: pyftpdlib FTP and FTPS servers.

Everything listens on 127.0.0.1 only, and every wait in it is bounded.
"""
