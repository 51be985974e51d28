"""A real WordPress (Debian's `wordpress` package, 6.1) on a free port of 127.0.0.1, for the WordPress source's
tests and benchmark: the package's tree copied into a temporary folder with a wp-config.php of its own, a fresh
database and user on the MariaDB/MySQL server at 127.0.0.1:3306, installed by a short PHP script (there is no
wp-cli in Debian), an application password made for `admin`, and served by PHP's built-in server (no Apache).

scripts/test-services.sh installs the packages; where they or the database are missing, ServerUnavailable says
which. The server runs in its own process group and is stopped whole (PHP's workers are its children).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from wirepub_testkit.ports import LOCALHOST, free_port, wait_for_port
from wirepub_testkit.servers import ServerUnavailable

WORDPRESS = Path("/usr/share/wordpress")
MYSQL_HOST, MYSQL_PORT = LOCALHOST, int(os.environ.get("WIREPUB_TEST_MYSQL_PORT", "3306"))
USER = "admin"

CONFIG = """<?php
define('DB_NAME', '{db}');
define('DB_USER', '{user}');
define('DB_PASSWORD', '{password}');
define('DB_HOST', '{host}:{port}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$table_prefix = 'wp_';
define('WP_HOME', '{url}');
define('WP_SITEURL', '{url}');
define('WP_CONTENT_DIR', __DIR__ . '/wp-content');
define('WP_CONTENT_URL', '{url}/wp-content');
define('DISABLE_WP_CRON', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('WP_ENVIRONMENT_TYPE', 'local');
define('AUTOMATIC_UPDATER_DISABLED', true);
foreach (['AUTH_KEY','SECURE_AUTH_KEY','LOGGED_IN_KEY','NONCE_KEY','AUTH_SALT','SECURE_AUTH_SALT','LOGGED_IN_SALT',
          'NONCE_SALT'] as $k) {{ define($k, '{salt}' . $k); }}
if (!defined('ABSPATH')) {{ define('ABSPATH', __DIR__ . '/'); }}
require_once ABSPATH . 'wp-settings.php';
"""

INSTALL = """<?php
define('WP_INSTALLING', true);
require __DIR__ . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
add_filter('pre_wp_mail', '__return_false');
wp_install('wirepub test', 'admin', 'admin@example.test', true, '', 'not-a-real-password-42');
update_option('permalink_structure', '/%postname%/');
update_option('timezone_string', 'UTC');
$made = WP_Application_Passwords::create_new_application_password(1, array('name' => 'wirepub'));
echo $made[0];
"""


def _mysql() -> Any:
    try:
        import pymysql
    except ImportError:
        raise ServerUnavailable("pymysql is not installed: pip install -e '.[test]'") from None
    try:
        return pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", autocommit=True,
                               connect_timeout=3)
    except pymysql.MySQLError as exc:
        raise ServerUnavailable(f"no MariaDB/MySQL answering as root on {MYSQL_HOST}:{MYSQL_PORT} ({exc}); "
                                "WordPress needs one") from None


@dataclass
class WordPress:
    url: str
    user: str
    password: str          # the application password
    root: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(self.user, self.password), timeout=60, trust_env=False)

    def rest(self, method: str, route: str, **kw: Any) -> Any:
        with self.client() as c:
            answer = c.request(method, "/", params={"rest_route": route, **kw.pop("params", {})}, **kw)
        if answer.status_code >= 400:
            raise AssertionError(f"{method} {route}: {answer.status_code} {answer.text[:500]}")
        return answer.json()

    def term(self, taxonomy: str, name: str) -> int:
        return int(self.rest("POST", f"/wp/v2/{taxonomy}", json={"name": name})["id"])

    def media(self, name: str, data: bytes, media_type: str, **fields: Any) -> int:
        made = self.rest("POST", "/wp/v2/media", content=data, headers={
            "Content-Type": media_type, "Content-Disposition": f'attachment; filename="{name}"'})
        if fields:
            self.rest("POST", f"/wp/v2/media/{made['id']}", json=fields)
        return int(made["id"])

    def post(self, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.rest("POST", "/wp/v2/posts", json={"status": "publish", **fields})
        return result

    def update(self, post_id: int, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.rest("POST", f"/wp/v2/posts/{post_id}", json=fields)
        return result

    def trash(self, post_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.rest("DELETE", f"/wp/v2/posts/{post_id}")
        return result


@contextmanager
def start_wordpress() -> Iterator[WordPress]:
    """A fresh WordPress with its own database; everything removed on leaving."""
    if not (WORDPRESS / "wp-load.php").is_file():
        raise ServerUnavailable(f"no WordPress in {WORDPRESS}: run scripts/test-services.sh (Debian's wordpress)")
    php = shutil.which("php")
    if php is None:
        raise ServerUnavailable("no php: run scripts/test-services.sh (Debian's php-cli and php-mysql)")
    admin = _mysql()
    tag = uuid.uuid4().hex[:10]
    db, user, password = f"wp_{tag}", f"wp_{tag}", uuid.uuid4().hex
    folder = Path(tempfile.mkdtemp(prefix="wirepub-wp-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{db}` CHARACTER SET utf8mb4")
            cur.execute(f"CREATE USER '{user}'@'{MYSQL_HOST}' IDENTIFIED BY '{password}'")
            cur.execute(f"GRANT ALL ON `{db}`.* TO '{user}'@'{MYSQL_HOST}'")
        root = folder / "wordpress"
        shutil.copytree(WORDPRESS, root, symlinks=False, ignore=shutil.ignore_patterns(".htaccess", "wp-config.php"))
        (root / "wp-content" / "uploads").mkdir(parents=True, exist_ok=True)
        port = free_port()
        url = f"http://{LOCALHOST}:{port}"
        (root / "wp-config.php").write_text(CONFIG.format(db=db, user=user, password=password, host=MYSQL_HOST,
                                                          port=MYSQL_PORT, url=url, salt=tag), encoding="utf-8")
        (root / "install-for-test.php").write_text(INSTALL, encoding="utf-8")
        made = subprocess.run([php, str(root / "install-for-test.php")], cwd=root, capture_output=True, timeout=120)
        app_password = made.stdout.decode(errors="replace").strip().splitlines()[-1:] or [""]
        if made.returncode != 0 or len(app_password[0].replace(" ", "")) < 20:
            raise ServerUnavailable(f"WordPress could not be installed: {made.stdout[-500:]!r} {made.stderr[-500:]!r}")
        (root / "install-for-test.php").unlink()
        log = (folder / "php.log").open("wb")
        server = subprocess.Popen([php, "-S", f"{LOCALHOST}:{port}", "-t", str(root)], cwd=root, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True,
                                  env={**os.environ, "PHP_CLI_SERVER_WORKERS": "4"})
        proc = server
        wait_for_port(port, timeout=30, alive=lambda: None if proc.poll() is None else "php -S exited")
        yield WordPress(url, USER, app_password[0], root)
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(10)
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
            cur.execute(f"DROP USER IF EXISTS '{user}'@'{MYSQL_HOST}'")
        admin.close()
        shutil.rmtree(folder, ignore_errors=True)
