"""Pictures (issue 12, item 3) end to end through `wirepub push`, to a folder and to S3 (moto's server): a
picture given as a local file beside the story is read once (Pillow: its size, dimensions and type), delivered
to each partner's destination at a content-addressed path before the documents that show it, and each format
carries it its own way."""

from __future__ import annotations

import hashlib
import io
import json

import feedparser
from lxml import etree
from PIL import Image

from conftest import Workspace
from wirepub.publisher import Publisher
from wirepub.reports import PushReport
from wirepub.vocabulary import DeliveryKind
from wirepub_testkit.servers.s3 import admin_client

NAR = "{http://iptc.org/std/nar/2006-10-01/}"
ALL = ["newsml-g2", "ninjs", "rss", "atom", "jsonfeed", "news-sitemap"]


def jpeg(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 90, 40)).save(out, "JPEG")
    return out.getvalue()


def test_a_local_picture_reaches_a_folder_and_s3_before_the_items_and_every_format_shows_it(
        tmp_path, s3_server, s3_bucket):
    picture = jpeg()
    sha = hashlib.sha256(picture).hexdigest()
    ws = Workspace(tmp_path, {"partners": [
        {"name": "web", "formats": ALL, "destinations": [{"url": "public", "public_url": "https://www.example/wire/"}]},
        {"name": "agg", "formats": ["ninjs", "rss", "atom", "jsonfeed"], "profile": "flipboard",
         "destinations": [{"url": f"s3://{s3_bucket}/agg", "endpoint_url": s3_server,
                           "public_url": "https://cdn.example/agg/"}]}]})
    (ws.stories / "fire.jpg").write_bytes(picture)
    ws.drop("fire.json", {"id": "fire", "headline": "Fire in the harbour of Piraeus is out", "body": "<p>Out.</p>",
                          "version_created": "2026-11-25T10:00:00Z", "url": "https://www.example/fire",
                          "media": [{"file": "fire.jpg", "caption": "The quay", "credit": "Photo: A. Lens",
                                     "alt": "Smoke over the quay"}]})

    # The ledger lets no item or feed go before the picture it shows.
    publisher = Publisher(ws.config, ws.store, clock=ws.clock)
    assert publisher.collect(PushReport())
    first = ws.store.ledger.claim("probe", ws.clock.now(), lease_seconds=1, limit=100)
    assert {d.kind for d in first} == {DeliveryKind.MEDIA}
    ws.store.ledger.release_leases("probe")

    report = ws.push()
    assert report.ok, report
    path = f"media/{sha}.jpg"
    assert ws.read(path) == picture
    s3 = admin_client(s3_server)
    assert s3.get_object(Bucket=s3_bucket, Key=f"agg/{path}")["Body"].read() == picture

    item = etree.fromstring(ws.read("items/fire/v1.xml"))
    link = item.find(f"{NAR}itemMeta/{NAR}link")
    assert link.get("href") == f"https://www.example/wire/{path}" and link.get("contenttype") == "image/jpeg"
    ninjs = json.loads(s3.get_object(Bucket=s3_bucket, Key="agg/items/fire/v1.json")["Body"].read())
    original = ninjs["associations"][0]["renditions"][0]
    assert original == {"name": "original", "href": f"https://cdn.example/agg/{path}", "contentType": "image/jpeg",
                        "width": 640, "height": 480, "sizeInBytes": len(picture)}
    rss = feedparser.parse(s3.get_object(Bucket=s3_bucket, Key="agg/feeds/rss.xml")["Body"].read())
    assert rss.entries[0].enclosures[0].href == f"https://cdn.example/agg/{path}"
    assert rss.entries[0].media_content[0]["width"] == "640"
    feed = json.loads(ws.read("feeds/jsonfeed.json"))
    assert feed["items"][0]["image"] == f"https://www.example/wire/{path}"
    assert (tmp_path / "public/feeds/news-sitemap.xml").is_file()

    # A second story with the same picture: the same path, not sent again.
    ws.drop("fire-2.json", {"id": "fire-2", "headline": "Fire in the harbour: the morning after", "body": "<p>x</p>",
                            "version_created": "2026-11-25T11:00:00Z", "media": [{"file": "fire.jpg"}]})
    again = ws.push()
    assert again.ok
    media_rows = [h for h in ws.store.reads.story_history("fire-2") if h["kind"] == DeliveryKind.MEDIA]
    assert media_rows == []
    ws.store.close()


def test_a_missing_picture_file_rejects_the_story_naming_it(tmp_path):
    ws = Workspace(tmp_path)
    ws.drop("s.json", {"id": "s", "headline": "H", "body": "<p>B</p>", "version_created": "2026-11-25T10:00:00Z",
                       "media": [{"file": "nowhere.jpg"}]})
    report = ws.push()
    assert len(report.rejected) == 1 and "nowhere.jpg" in str(report.rejected[0].error)
    ws.store.close()


def test_newsml_g2_packages_group_picture_items_with_the_text_and_a_real_client_reads_them(tmp_path):
    """newsml_packages: a picture item per picture (a remoteContent per rendition) and a packageItem, valid
    against our profile and the IPTC XSD (when ../shared has it), read back by IPTC's newsmlg2 package."""
    import NewsMLG2

    from formats_helpers import NOW, official, renderer, story
    from wirepub.formats import get_format

    if "newsml-g2" not in official():
        import pytest

        pytest.skip("the IPTC NewsML-G2 XSD in ../shared/standards is absent")
    r, partners = renderer({"partners": [{"name": "p", "destinations": ["x"], "newsml_packages": True}]})
    s = story(media=[{"url": "https://img.example/fire.jpg", "type": "image/jpeg", "width": 1200, "height": 800,
                      "size": 123456, "caption": "The quay", "credit": "Photo: A. Lens", "alt": "Smoke",
                      "renditions": [{"name": "thumbnail", "url": "https://img.example/fire-t.jpg",
                                      "type": "image/jpeg", "width": 120, "height": 80, "size": 2048}]}])
    text, picture, package = r.items(partners[0], get_format("newsml-g2"), s, NOW)   # each validated on the way
    assert [d.path for d in (text, picture, package)] == [
        "items/harbour-fire/v1.xml", "items/harbour-fire/v1-picture-1.xml", "items/harbour-fire/v1-package.xml"]
    item = NewsMLG2.NewsMLG2Document(picture.data).get_item()
    assert item.itemmeta.itemclass.qcode == "ninat:picture"
    contents = etree.fromstring(picture.data).findall(f"{NAR}contentSet/{NAR}remoteContent")
    assert [(c.get("rendition"), c.get("width"), c.get("height"), c.get("size")) for c in contents] == [
        ("rnd:highRes", "1200", "800", "123456"), ("rnd:thumbnail", "120", "80", "2048")]
    pkg = NewsMLG2.NewsMLG2Document(package.data).get_item()
    assert pkg.guid == "urn:newsml:wirepub.example:harbour-fire.package"
    refs = etree.fromstring(package.data).iter(f"{NAR}itemRef")
    assert [ref.get("residref") for ref in refs] == ["urn:newsml:wirepub.example:harbour-fire",
                                                     "urn:newsml:wirepub.example:harbour-fire.picture-1"]
    # Without the option, or for a story without pictures, the text item alone.
    r2, plain = renderer({"partners": [{"name": "p", "destinations": ["x"]}]})
    assert len(r2.items(plain[0], get_format("newsml-g2"), s, NOW)) == 1
