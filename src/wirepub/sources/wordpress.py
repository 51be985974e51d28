"""A WordPress site as a source (kind wordpress), pulled through its REST API (WordPress 5.7+).

Every `interval` seconds: posts modified since the cursor, oldest first, page by page
(`?rest_route=/wp/v2/posts&modified_after=...&orderby=id&_embed=1`, which works whatever the site's
permalinks; paged by id, which is stable, and put in modified order here), authenticated with an application
password (Users > Profile > Application Passwords; the user's name in `user`, the password in the variable
`password_env`). The cursor (the last `modified_gmt` seen and
the posts at that second) is kept in the store, written once what came before it is recorded: a node that dies
mid-pull leaves it where it was, and the next pull reads those posts again (recorded content is not recorded
twice). WordPress compares `modified_after` strictly, to the second, so each pull steps back one second and
leaves out the posts it already had at that second.

A post counts as approved when its status is one of `statuses` (default publish) and, if `categories` or `tags`
are given, it has one of them (slug or name). It becomes a story: id `id_prefix` + post id; headline the title;
body the rendered content, cleaned by the same allow-list as every body; summary the excerpt; byline and authors
the author's name; subjects the categories' names, keywords the tags'; the featured image as a picture (URL,
type, caption or alt text, size); its link as url; `date_gmt` first created, `modified_gmt` this version's time.
An edited post is the story's next version (the same content again is none). A post that was published and
leaves the approved statuses (trashed, back to draft, made private) is withdrawn: a kill, to the partners that
had it. Password-protected posts never count as approved.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import re
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from wirepub.clock import Clock
from wirepub.config import SourceSettings
from wirepub.errors import SourceError, StoryError
from wirepub.logs import facts
from wirepub.progress import Progress
from wirepub.sources import Collected, Rejection
from wirepub.store import Store
from wirepub.story import Story, StoryDefaults, story_from_document
from wirepub.urls import shown
from wirepub.vocabulary import StoryStatus

log = logging.getLogger("wirepub.sources.wordpress")

ALL_STATUSES = "publish,future,draft,pending,private,trash"
DEFAULT_INTERVAL = 60.0
TAGS = re.compile(r"<[^>]+>")


def _text(rendered: Any) -> str:
    """WordPress's rendered HTML (a title, an excerpt) as plain text."""
    value = rendered.get("rendered", "") if isinstance(rendered, dict) else str(rendered or "")
    return " ".join(html.unescape(TAGS.sub(" ", value)).split())


def _digest(post: dict[str, Any]) -> str:
    """What of a post makes its story: two states of one post within one second differ here."""
    keys = ("status", "title", "content", "excerpt", "categories", "tags", "featured_media", "author", "link")
    return hashlib.sha256(json.dumps([post.get(k) for k in keys], sort_keys=True).encode()).hexdigest()[:16]


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.rstrip("Z") + "+00:00")


class WordPressSource:
    kind = "wordpress"

    def __init__(self, settings: SourceSettings, store: Store, clock: Clock, *,
                 defaults: StoryDefaults | None = None) -> None:
        self.name = settings.name
        self.store = store
        self.clock = clock
        self.site = str(settings.option("url")).rstrip("/") + "/"
        self.user: str | None = settings.option("user")
        self.password_env: str | None = settings.option("password_env")
        self.interval: float | None = float(settings.option("interval", DEFAULT_INTERVAL))
        self.statuses = set(settings.option("statuses", ["publish"]))
        self.categories = {c.lower() for c in settings.option("categories", ())}
        self.tags = {t.lower() for t in settings.option("tags", ())}
        self.prefix = settings.option("id_prefix", "wp-")
        self.per_page = int(settings.option("per_page", 100))
        self.timeout = float(settings.option("timeout", 30))
        self.defaults = defaults or StoryDefaults(language=settings.language)
        self._pending: dict[str, tuple[str, int]] = {}   # ref -> (modified_gmt, post id) of the last collect
        self._batch_end: tuple[str, dict[str, str]] | None = None

    # --- talking to WordPress -------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        auth = None
        if self.user and self.password_env:
            password = os.environ.get(self.password_env, "")
            if not password:
                raise SourceError(f"source {self.name}: the environment variable {self.password_env} (the "
                                  "application password) is not set")
            auth = (self.user, password)
        return httpx.Client(base_url=self.site, auth=auth, timeout=self.timeout, trust_env=False,
                            headers={"User-Agent": "wirepub"})

    def _get(self, client: httpx.Client, route: str, params: dict[str, Any]) -> httpx.Response:
        try:
            answer = client.get("", params={"rest_route": route, **params})
        except httpx.HTTPError as exc:
            raise SourceError(f"source {self.name}: WordPress at {shown(self.site)} cannot be reached: "
                              f"{type(exc).__name__}: {exc}") from None
        refused = answer.status_code == 400 and "rest_forbidden_status" in answer.text   # the password was ignored
        if answer.status_code in (401, 403) or refused:
            raise SourceError(f"source {self.name}: WordPress at {shown(self.site)} refused the application "
                              f"password of {self.user!r} ({answer.status_code}); make a new one (Users > Profile > "
                              "Application Passwords) and put it in " + (self.password_env or "password_env"))
        if answer.status_code >= 400:
            raise SourceError(f"source {self.name}: WordPress at {shown(self.site)} answered {answer.status_code} "
                              f"to {route}: {answer.text[:200]}")
        return answer

    def _posts(self, client: httpx.Client, after: str | None) -> Iterator[dict[str, Any]]:
        """Every post modified since `after`, oldest first. Paged in the order of their ids, which is stable: posts
        modified in one second have no order among themselves, and paging by modified time would lose or repeat
        some of them at page boundaries."""
        params: dict[str, Any] = {"orderby": "id", "order": "asc", "_embed": "1", "per_page": self.per_page,
                                  "status": ALL_STATUSES if client.auth else "publish"}
        if after is not None:
            params["modified_after"] = (_utc(after) - timedelta(seconds=1)).isoformat()
        page, pages, found = 1, 1, []
        while page <= pages:
            answer = self._get(client, "/wp/v2/posts", {**params, "page": page})
            pages = int(answer.headers.get("x-wp-totalpages", "1") or 1)
            posts = answer.json()
            if not isinstance(posts, list):
                raise SourceError(f"source {self.name}: WordPress answered something other than a list of posts")
            found += [p for p in posts if isinstance(p, dict)]
            page += 1
        unique = {int(p.get("id", 0)): p for p in found}
        yield from sorted(unique.values(), key=lambda p: (str(p.get("modified_gmt", "")), int(p.get("id", 0))))

    # --- the Source protocol --------------------------------------------------------------------------------

    def _cursor(self) -> tuple[str | None, dict[str, str]]:
        raw = self.store.cursors.get(self.name)
        if raw is None:
            return None, {}
        value = json.loads(raw)
        return value.get("modified_gmt"), dict(value.get("seen", {}))

    def collect(self, *, settle: float = 0.0, settled: Collection[str] = (),
                only: Collection[str] | None = None, progress: Progress | None = None) -> Collected:
        out = Collected()
        after, had = self._cursor()
        self._pending.clear()
        newest: tuple[str, dict[str, str]] | None = None
        with self._client() as client:
            for post in self._posts(client, after):
                modified, post_id = str(post.get("modified_gmt", "")), int(post.get("id", 0))
                digest = _digest(post)
                if after is not None and (modified < after or (modified == after and had.get(str(post_id)) == digest)):
                    continue   # read before: a post edited twice in one second has another digest
                newest = (modified, {str(post_id): digest}) if newest is None or newest[0] != modified else (
                    modified, {**newest[1], str(post_id): digest})
                ref = f"{self.name}:post/{post_id}"   # the item, whatever its version: a later fix clears its rejection
                try:
                    story = self._story(post, ref)
                except StoryError as exc:
                    out.rejected.append(Rejection(ref, exc))
                    self._pending[ref] = (modified, post_id)
                    continue
                if story is not None:
                    out.stories.append(story)
                    self._pending[ref] = (modified, post_id)
        if newest is not None and after == newest[0]:
            newest = (newest[0], {**had, **newest[1]})
        self._batch_end = newest
        if not self._pending:
            self._advance()
        return out

    def _story(self, post: dict[str, Any], ref: str) -> Story | None:
        """The story a post is now, or None (never published here, and not approved now: nothing to say)."""
        story_id = f"{self.prefix}{post.get('id')}"
        approved = self._approved(post)
        if not approved:
            latest = self.store.versions.latest(story_id)
            if latest is None or latest.status == StoryStatus.WITHDRAWN:
                return None
            doc = {"id": story_id, "status": StoryStatus.WITHDRAWN, "headline": latest.document.get("headline", "-"),
                   "body": "", "withdrawal_note": f"The post is no longer published (WordPress status: "
                                                  f"{post.get('status')}).",
                   "version_created": str(post.get("modified_gmt")) + "Z"}
            return story_from_document(doc, origin=ref, defaults=self.defaults)
        doc = self._document(post, story_id)
        latest = self.store.versions.latest(story_id)
        if latest is not None and latest.status == StoryStatus.WITHDRAWN:
            doc["version"] = latest.version + 1   # published again after a kill: a new version even if unchanged
        return story_from_document(doc, origin=ref, defaults=self.defaults)

    def _terms(self, post: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        groups = post.get("_embedded", {}).get("wp:term", [])
        flat = [t for group in groups if isinstance(group, list) for t in group if isinstance(t, dict)]
        return ([t for t in flat if t.get("taxonomy") == "category"],
                [t for t in flat if t.get("taxonomy") == "post_tag"])

    def _approved(self, post: dict[str, Any]) -> bool:
        if post.get("status") not in self.statuses or post.get("content", {}).get("protected"):
            return False
        categories, tags = self._terms(post)

        def has(terms: list[dict[str, Any]], wanted: set[str]) -> bool:
            return not wanted or any({str(t.get("slug", "")).lower(), str(t.get("name", "")).lower()} & wanted
                                     for t in terms)

        return has(categories, self.categories) and has(tags, self.tags)

    def _document(self, post: dict[str, Any], story_id: str) -> dict[str, Any]:
        embedded = post.get("_embedded", {})
        categories, tags = self._terms(post)
        doc: dict[str, Any] = {
            "id": story_id,
            "headline": _text(post.get("title")) or post.get("slug") or story_id,
            "body": post.get("content", {}).get("rendered", ""),
            "body_format": "html",
            "first_created": str(post.get("date_gmt")) + "Z",
            "version_created": str(post.get("modified_gmt")) + "Z",
        }
        summary = _text(post.get("excerpt"))
        if summary:
            doc["summary"] = summary
        authors = [a for a in embedded.get("author", []) if isinstance(a, dict) and a.get("name")]
        if authors:
            doc["byline"] = ", ".join(a["name"] for a in authors)
            doc["authors"] = [{"name": a["name"]} for a in authors]
        if categories:
            doc["subjects"] = [str(c["name"]) for c in categories if c.get("name")]
        if tags:
            doc["keywords"] = [str(t["name"]) for t in tags if t.get("name")]
        if isinstance(post.get("link"), str) and post["link"].startswith(("http://", "https://")):
            doc["url"] = post["link"]
        media = [self._picture(m) for m in embedded.get("wp:featuredmedia", []) if isinstance(m, dict)]
        media = [m for m in media if m]
        if media:
            doc["media"] = media
        return doc

    def _picture(self, m: dict[str, Any]) -> dict[str, Any]:
        url = m.get("source_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return {}
        out: dict[str, Any] = {"url": url}
        if isinstance(m.get("mime_type"), str):
            out["type"] = m["mime_type"]
        caption = _text(m.get("caption")) or m.get("alt_text")
        if caption:
            out["caption"] = caption
        details = m.get("media_details") or {}
        for key in ("width", "height"):
            if isinstance(details.get(key), int) and details[key] > 0:
                out[key] = details[key]
        if isinstance(details.get("filesize"), int):
            out["size"] = details["filesize"]
        return out

    def read(self, ref: str) -> Story:
        post_id = ref.split("post/", 1)[-1]
        with self._client() as client:
            post = self._get(client, f"/wp/v2/posts/{post_id}", {"_embed": "1"}).json()
        story = self._story(post, ref)
        if story is None:
            raise StoryError("the post is not approved (its status, categories or tags)", file=ref, field="status")
        return story

    def done(self, refs: Sequence[str]) -> None:
        for ref in refs:
            self._settle(ref)

    def reject(self, rejection: Rejection) -> None:
        self._settle(rejection.ref)

    def _settle(self, ref: str) -> None:
        if self._pending.pop(ref, None) is not None and not self._pending:
            self._advance()   # everything the last pull read is recorded or set aside

    def _advance(self) -> None:
        if self._batch_end is not None:
            modified, seen = self._batch_end
            self.store.cursors.set(self.name, json.dumps({"modified_gmt": modified, "seen": seen}), self.clock.now())
            log.debug("cursor advanced", extra=facts(source=self.name, modified=modified))
            self._batch_end = None

    def check(self) -> str:
        with self._client() as client:
            answer = self._get(client, "/wp/v2/posts", {"per_page": 1, "_embed": "1",
                                                        **({"status": ALL_STATUSES} if client.auth else {})})
            total = answer.headers.get("x-wp-total", "?")
            if client.auth:
                me = self._get(client, "/wp/v2/users/me", {}).json()
                who = f"authenticated as {me.get('name') or self.user}"
            else:
                who = "not authenticated (published posts only; trashed posts are not seen as kills)"
        return f"WordPress at {shown(self.site)}: {who}; {total} posts"
