"""Render and validate the Wikinews corpus (../shared/corpus) in every format, on one core.

Reports stories per second per format (render + validation against our profile, plus the official schema
where one exists: the IPTC NewsML-G2 XSD, IPTC's ninjs 3.1 schema through jsonschema-rs, RFC 4287's RELAX NG),
and our RSS and Atom times against feedgen building the same feeds WITHOUT validation (Atom: the same 1,000
items, the corpus taken twice, in feeds of 50).

    .venv/bin/python bench/render_bench.py [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from feedgen.feed import FeedGenerator

from wirepub.config import build_config
from wirepub.formats import RenderContext, get_format
from wirepub.formats.templates import item_url
from wirepub.validate import Validator
from wirepub_testkit.corpus import corpus_stories

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
FEED_SIZE = 50


def best_of(rounds: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    corpus_file = SHARED / "corpus" / "wikinews.jsonl"
    if not corpus_file.exists():
        sys.exit(f"{corpus_file} is absent: the benchmark needs the shared corpus")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the issue asks

    stories = [s for _, s in corpus_stories(corpus_file)]
    config = build_config({}, base_dir=HERE, path=None)
    ctx = RenderContext(config.provider, config.channel, feed_path="feeds/rss.xml")
    official = {"newsml-g2": SHARED / "standards/newsml-g2/NewsML-G2_2.35-spec-All-Power.xsd",
                "ninjs": SHARED / "standards/ninjs/schemas", "atom": SHARED / "standards/atom/atom-rfc4287.rng"}
    jsonfeed_schemas = sorted((SHARED / "standards/jsonfeed").glob("*.json"))
    if jsonfeed_schemas:
        official["jsonfeed"] = jsonfeed_schemas[0]
    ours_only, with_official = Validator(), Validator({k: v for k, v in official.items() if v.exists()})
    chunks = [stories[i:i + FEED_SIZE] for i in range(0, len(stories), FEED_SIZE)]
    results: dict[str, float] = {}

    newsml = get_format("newsml-g2")
    for label, validator in (("newsml-g2 (profile)", ours_only), ("newsml-g2 (profile + IPTC XSD)", with_official)):
        def run_items(v: Validator = validator) -> None:
            for s in stories:
                v.check(newsml.render(s, ctx), get_format("newsml-g2"), story=s.id)
        run_items()  # warm: schemas compiled, templates loaded
        results[label] = len(stories) / best_of(args.rounds, run_items)

    def render_only() -> None:
        for s in stories:
            newsml.render(s, ctx)
    results["newsml-g2 (render only)"] = len(stories) / best_of(args.rounds, render_only)

    ninjs = get_format("ninjs")
    for label, validator in (("ninjs 3.1 (profile)", ours_only), ("ninjs 3.1 (profile + IPTC schema)", with_official)):
        def run_ninjs(v: Validator = validator) -> None:
            for s in stories:
                v.check(ninjs.render(s, ctx), ninjs, story=s.id)
        run_ninjs()
        results[label] = len(stories) / best_of(args.rounds, run_ninjs)

    jsonfeed = get_format("jsonfeed")

    def run_jsonfeed() -> None:
        for chunk in chunks:
            with_official.check(jsonfeed.render(chunk, ctx), get_format("jsonfeed"),
                                story="bench")
    run_jsonfeed()
    results[f"jsonfeed (feeds of {FEED_SIZE}, profile + official schema)"] = (
        len(stories) / best_of(args.rounds, run_jsonfeed))

    rss = get_format("rss")

    def ours_rss() -> None:
        for chunk in chunks:
            with_official.check(rss.render(chunk, ctx), get_format("rss"), story="bench")

    def feedgen_rss() -> None:
        for chunk in chunks:
            fg = FeedGenerator()
            fg.load_extension("dc")
            fg.title(ctx.channel.title)
            fg.link(href=ctx.channel.link)
            fg.description(ctx.channel.description)
            fg.language(ctx.channel.language)
            fg.link(href=ctx.channel.public_url + ctx.feed_path, rel="self")
            for s in reversed(chunk):  # feedgen prepends entries
                fe = fg.add_entry()
                fe.guid(ctx.provider.guid(s.id), permalink=False)
                fe.title(s.headline)
                link = item_url(s, ctx.channel.item_url)
                if link:
                    fe.link(href=link)
                fe.description(s.teaser)
                fe.content(s.body_xhtml, type="CDATA")
                fe.pubDate(s.version_created)
                for sub in s.subjects:
                    fe.category(term=sub.name)
            fg.rss_str(pretty=False)

    ours_rss()
    feedgen_rss()
    # Interleaved, so that both see the same machine; the ratio is the median of per-round ratios.
    pairs = [(best_of(1, ours_rss), best_of(1, feedgen_rss)) for _ in range(args.rounds)]
    t_ours = statistics.median(p[0] for p in pairs)
    t_feedgen = statistics.median(p[1] for p in pairs)
    results[f"rss (feeds of {FEED_SIZE}, validated)"] = len(stories) / t_ours
    results[f"rss by feedgen (feeds of {FEED_SIZE}, not validated)"] = len(stories) / t_feedgen
    ratio = statistics.median(o / f for o, f in pairs)

    atom = get_format("atom")
    thousand = (stories * 2)[:1000]
    atom_chunks = [thousand[i:i + FEED_SIZE] for i in range(0, len(thousand), FEED_SIZE)]
    atom_ctx = RenderContext(config.provider, config.channel, feed_path="feeds/atom.atom")

    def ours_atom(v: Validator = ours_only) -> None:
        for chunk in atom_chunks:
            v.check(atom.render(chunk, atom_ctx), atom, story="bench")

    def ours_atom_rng() -> None:
        ours_atom(with_official)

    def feedgen_atom() -> None:
        for chunk in atom_chunks:
            fg = FeedGenerator()
            fg.id(atom_ctx.self_url)
            fg.title(ctx.channel.title)
            fg.subtitle(ctx.channel.description)
            fg.link(href=atom_ctx.self_url, rel="self")
            fg.link(href=ctx.channel.link, rel="alternate")
            fg.author({"name": ctx.provider.name, "uri": ctx.provider.url})
            fg.language(ctx.channel.language)
            for s in reversed(chunk):
                fe = fg.add_entry()
                fe.id(ctx.provider.guid(s.id))
                fe.title(s.headline)
                fe.updated(s.version_created)
                fe.published(s.first_created)
                link = item_url(s, ctx.channel.item_url)
                if link:
                    fe.link(href=link)
                fe.summary(s.teaser)
                fe.content(s.body_xhtml, type="html")
                for sub in s.subjects:
                    fe.category(term=sub.name)
            fg.atom_str(pretty=False)

    ours_atom()
    feedgen_atom()
    atom_pairs = [(best_of(1, ours_atom), best_of(1, feedgen_atom)) for _ in range(args.rounds)]
    results[f"atom (1,000 items in feeds of {FEED_SIZE}, profile)"] = (
        len(thousand) / statistics.median(p[0] for p in atom_pairs))
    results[f"atom (1,000 items in feeds of {FEED_SIZE}, profile + RFC 4287 RNG)"] = (
        len(thousand) / best_of(args.rounds, ours_atom_rng))
    results[f"atom by feedgen (1,000 items in feeds of {FEED_SIZE}, not validated)"] = (
        len(thousand) / statistics.median(p[1] for p in atom_pairs))
    atom_ratio = statistics.median(o / f for o, f in atom_pairs)

    if args.json:
        print(json.dumps({"stories": len(stories), "per_second": results, "rss_time_vs_feedgen": ratio,
                          "atom_time_vs_feedgen": atom_ratio}, indent=2))
        return
    print(f"{len(stories)} corpus stories, median of {args.rounds} rounds, one core")
    for label, rate in results.items():
        print(f"  {label:70s} {rate:10,.0f} stories/s")
    print(f"  our RSS (validated) takes {ratio:.2f}x feedgen's time (unvalidated); below 1.0 is faster")
    print(f"  our Atom (validated by our profile) takes {atom_ratio:.2f}x feedgen's time (unvalidated): "
          f"{1 / atom_ratio:.2f}x as fast; the issue's target is 1.5x or more")


if __name__ == "__main__":
    main()
