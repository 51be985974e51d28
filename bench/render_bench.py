"""Render and validate the Wikinews corpus (../shared/corpus) in every format, on one core.

Reports stories per second per format (render + validation against our profile, plus the official schema
where one exists), and our RSS time against feedgen building the same feeds WITHOUT validation.

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
    official = {"newsml-g2": SHARED / "standards/newsml-g2/NewsML-G2_2.35-spec-All-Power.xsd"}
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

    if args.json:
        print(json.dumps({"stories": len(stories), "per_second": results, "rss_time_vs_feedgen": ratio}, indent=2))
        return
    print(f"{len(stories)} corpus stories, median of {args.rounds} rounds, one core")
    for label, rate in results.items():
        print(f"  {label:55s} {rate:10,.0f} stories/s")
    print(f"  our RSS (validated) takes {ratio:.2f}x feedgen's time (unvalidated); below 1.0 is faster")


if __name__ == "__main__":
    main()
