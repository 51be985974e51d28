"""Superdesk's HTTP push as a source (kind superdesk). Superdesk's "HTTP Push" transmitter POSTs each item,
formatted by its NINJSFormatter, to the destination's resource URL, and pictures first to its assets URL; with a
secret token set on the destination it signs every request: `x-superdesk-signature: sha1=<hex HMAC-SHA1 of the
exact body>`. This source takes both (web/ingest.py routes them):

- items: POST /api/v1/superdesk/NAME, ninjs (sources/ninjs.py), signed. Answered as the transmitter expects:
  201 when recorded (200 for a retry of the same version); any 4xx is a client error to it, which it reports
  on the item (so 403 for a bad signature, 422 for what cannot be a story, 409 for a changed version).
- assets: GET /api/v1/superdesk/NAME/assets/MEDIA_ID answers 200 (with the picture) or 404, which Superdesk asks
  before uploading; POST /api/v1/superdesk/NAME/assets takes the multipart upload (fields media_id and media),
  signed the same way, answering 201. With assets_url set, the stories' pictures point there.

Otherwise it is the ingest API's inbox (sources/api.py): recorded before 201, taken up by the collect.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

from wirepub.clock import Clock
from wirepub.config import SourceSettings
from wirepub.errors import SourceError, StoryError
from wirepub.sources.api import ApiSource, Secrets
from wirepub.sources.ninjs import story_document
from wirepub.store import Store
from wirepub.story import StoryDefaults

SIGNATURE_HEADER = "x-superdesk-signature"
MAX_MEDIA_ID = 256


class SuperdeskSource(ApiSource):
    kind = "superdesk"

    def __init__(self, settings: SourceSettings, store: Store, clock: Clock, *,
                 defaults: StoryDefaults | None = None) -> None:
        super().__init__(settings, store, clock, defaults=defaults)
        secret_file = settings.option("secret_file")
        self.secret = Secrets([settings.option("secret_env")] if settings.option("secret_env") else (),
                              [Path(secret_file)] if secret_file else ())
        self.assets_url: str | None = settings.option("assets_url")

    def signed(self, body: bytes, signature: str | None) -> bool:
        """Is `signature` (the x-superdesk-signature header) sha1=HMAC-SHA1(secret, body)? Several secrets (a file
        of them, during a rotation) are each tried."""
        if not signature or not signature.startswith("sha1="):
            return False
        given = signature.removeprefix("sha1=").strip().lower().encode("ascii", "replace")
        found = False
        for secret in self.secret.values():
            expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest().encode("ascii")
            found |= hmac.compare_digest(given, expected)
        return found

    def document(self, raw: dict[str, Any], origin: str) -> dict[str, Any]:
        return story_document(raw, origin=origin, assets_url=self.assets_url)

    # --- pictures --------------------------------------------------------------------------------------------

    def asset(self, media_id: str) -> tuple[str, bytes] | None:
        return self.store.assets.get(self.name, media_id)

    def put_asset(self, media_id: str, media_type: str, data: bytes) -> None:
        if not media_id or len(media_id) > MAX_MEDIA_ID or "/" in media_id:
            raise StoryError(f"media_id must be 1 to {MAX_MEDIA_ID} characters without '/'", file=self.name,
                             field="media_id")
        self.store.assets.put(self.name, media_id, media_type or "application/octet-stream", data, self.clock.now())

    def check(self) -> str:
        if not self.secret.values():
            raise SourceError(f"source {self.name}: {', '.join(self.secret.missing())} gives no secret; set the one "
                              "Superdesk's destination has as its secret token")
        queued = self.store.inbox.queued(self.name)
        return f"secret set; {queued} stories queued for the collect"
