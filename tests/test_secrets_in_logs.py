"""Secrets never appear in what wirepub prints. A full run (`wirepub push -vv`, then the daemon) with every
kind of credential set, against real servers on 127.0.0.1, some of them failing, and then a grep of
everything wirepub wrote to its logs, its status output and its status page for each secret's value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SECRETS = {
    "WIREPUB_T_HMAC": "hmac-Secret-7d1c9a55e0",
    "WIREPUB_T_S3_KEY": "AKIAT3STS3CR3TK3Y42X",
    "WIREPUB_T_S3_SECRET": "s3-Secret-Key-0b3f5e77d2aa9c",
    "WIREPUB_T_FTP_PASS": "",               # the server's real password, filled in below
    "WIREPUB_T_FTP_WRONG": "Wrong-Pass-9876-zz",
    "WIREPUB_T_SSH_PASSPHRASE": "",         # the test key's passphrase, filled in below
    "WIREPUB_STATUS_TOKEN": "status-Token-3e8a1f0c",
    "PG_PASSWORD": "pg-Secret-5a9d",        # in the store URL (the test server trusts 127.0.0.1 and ignores it)
}


def test_no_secret_reaches_a_log_line_or_the_status_output(tmp_path, story_doc, https_receiver, s3_server,  # noqa: F811
                                                          s3_bucket, aws_env, ftp_server, sshd_server, pg_url):  # noqa: F811
    secrets = {**SECRETS, "WIREPUB_T_FTP_PASS": ftp_server.password,
               "WIREPUB_T_SSH_PASSPHRASE": sshd_server.key_passphrase}
    https_receiver.respond_with(500, times=1)   # one failure on the way, logged with its error
    stories = tmp_path / "stories"
    stories.mkdir()
    for i in range(3):
        (stories / f"s{i}.json").write_text(json.dumps(story_doc(id=f"s{i}")), encoding="utf-8")
    (stories / "bad.json").write_text('{"id": "bad"}', encoding="utf-8")   # a rejection, logged
    (tmp_path / "wirepub.toml").write_text(f"""
[daemon]
listen = "127.0.0.1:0"
interval = 0.5

[[partners]]
name = "push"
formats = ["newsml-g2"]
[[partners.destinations]]
url = "{https_receiver.url}/in"
secret_env = "WIREPUB_T_HMAC"
ca_file = "{https_receiver.ca_file}"

[[partners]]
name = "bucket"
formats = ["newsml-g2", "rss"]
[[partners.destinations]]
url = "s3://{s3_bucket}/wire"
endpoint_url = "{s3_server}"
access_key_id_env = "WIREPUB_T_S3_KEY"
secret_access_key_env = "WIREPUB_T_S3_SECRET"

[[partners]]
name = "sftp"
formats = ["newsml-g2"]
[[partners.destinations]]
url = "{sshd_server.url(f"{tmp_path}/sftp-out")}"
key_file = "{sshd_server.encrypted_client_key}"
key_passphrase_env = "WIREPUB_T_SSH_PASSPHRASE"
known_hosts = "{sshd_server.known_hosts}"

[[partners]]
name = "ftp"
formats = ["newsml-g2"]
destinations = [{{ url = "{ftp_server.url("/ok")}", password_env = "WIREPUB_T_FTP_PASS" }}]

[[partners]]
name = "ftp-denied"
formats = ["newsml-g2"]
destinations = [{{ url = "{ftp_server.url("/denied")}", password_env = "WIREPUB_T_FTP_WRONG" }}]
""", encoding="utf-8")
    store_url = pg_url.replace("://", f"://{os.environ.get('USER', 'root')}:{secrets['PG_PASSWORD']}@", 1)
    env = {**os.environ, **aws_env, **secrets, "WIREPUB_STORE_URL": store_url}
    env.pop("WIREPUB_CONFIG", None)

    def wirepub(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "wirepub.cli", "-vv", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    pushed = wirepub("push")
    assert pushed.returncode == 1, pushed.stderr[-3000:]   # a rejection, a retry and a dead partner
    assert "ftp-denied" in pushed.stderr and "bad.json" in pushed.stderr
    outputs = [pushed.stdout, pushed.stderr]
    for args in (("status", "--json"), ("status",), ("status", "--html", str(tmp_path / "status.html")),
                 ("partners", "check"), ("retry", "--dead")):
        done = wirepub(*args)
        outputs += [done.stdout, done.stderr]
    outputs.append((tmp_path / "status.html").read_text(encoding="utf-8"))

    daemon_log = tmp_path / "daemon.log"
    with daemon_log.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "wirepub.cli", "run"], cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
        try:
            health = None
            deadline = time.monotonic() + 60
            while health is None and time.monotonic() < deadline and proc.poll() is None:
                for line in daemon_log.read_text().splitlines():
                    if '"running"' in line:
                        health = json.loads(line)["health"]
                time.sleep(0.05)
            assert health is not None, daemon_log.read_text()[-3000:]
            base = health.rsplit("/", 1)[0]
            for path in ("/", "/metrics", "/api/status", "/?story=s1"):
                request = urllib.request.Request(base + path,
                                                 headers={"Authorization": f"Bearer {secrets['WIREPUB_STATUS_TOKEN']}"})
                with urllib.request.urlopen(request, timeout=10) as answer:
                    outputs.append(answer.read().decode("utf-8"))
            time.sleep(1.5)   # a few rounds of the daemon, retrying the failing partner
        finally:
            proc.terminate()
            proc.wait(60)
    outputs.append(daemon_log.read_text(encoding="utf-8"))

    everything = "\n".join(outputs)
    assert "delivered" in everything and "ftp-denied" in everything   # the logs did say what happened
    for name, value in secrets.items():
        assert value and value not in everything, f"the value of {name} appears in wirepub's output"
    assert not list(Path(tmp_path).glob("**/*.error.txt")) or all(
        not any(v in p.read_text() for v in secrets.values()) for p in tmp_path.glob("**/*.error.txt"))
