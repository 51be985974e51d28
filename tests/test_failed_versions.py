"""A version that cannot be rendered is held back visibly, not retried for ever (issue 10, item 4): marked
failed in the store, shown by `wirepub status`, the status page and /metrics, and then either fixed by a
corrected file under the same version or dropped with `wirepub drop STORY VERSION`."""

from __future__ import annotations

from click.testing import CliRunner

from conftest import REPO, Workspace
from wirepub.cli import main
from wirepub.metrics import Metrics
from wirepub.statuspage import render_status_page, status_view


def breaking_template(ws: Workspace) -> str:
    """The shipped NewsML-G2 template, made to fail (an undefined name) for a headline with BREAK in it."""
    path = ws.root / "newsml.xml.j2"
    path.write_text("{% if 'BREAK' in story.headline %}{{ no_such_name }}{% endif %}"
                    + (REPO / "templates/newsml-g2.xml.j2").read_text())
    return str(path)


def story(story_id: str, headline: str) -> dict[str, object]:
    return {"id": story_id, "version": 1, "headline": headline, "body": "<p>B</p>",
            "version_created": "2026-11-25T10:00:00Z"}


def test_a_failed_version_is_shown_then_fixed_by_a_corrected_file(tmp_path):
    ws = Workspace(tmp_path)
    ws.raw_config["partners"] = [{"name": "p", "destinations": ["public"], "formats": ["newsml-g2"],
                                  "templates": {"newsml-g2": breaking_template(ws)}}]
    from wirepub.config import build_config

    ws.config = build_config(ws.raw_config, base_dir=tmp_path, path=None)
    ws.drop("a.json", story("a", "BREAK the renderer"))
    ws.drop("b.json", story("b", "Fine"))
    first = ws.push()
    assert first.released == [("b", 1)] and "no_such_name" in first.failures[0]
    second = ws.push()
    assert second.failures == []                                   # held, not retried on every run
    [failed] = ws.store.reads.failed_versions()
    assert (failed["story_id"], failed["version"], failed["headline"]) == ("a", 1, "BREAK the renderer")

    view = status_view(ws.store, ws.clock.now())
    page = render_status_page(view, refresh_seconds=None)
    assert 'id="failed-versions"' in page and "BREAK the renderer" in page and "cannot be rendered" in page
    assert "wirepub_failed_versions 1.0" in Metrics(ws.store, ws.clock).render()

    ws.drop("a.json", story("a", "Corrected headline"))              # the same version, fixed
    fixed = ws.push()
    assert fixed.released == [("a", 1)] and fixed.failures == []
    assert ws.store.reads.failed_versions() == []
    assert b"Corrected headline" in (ws.public / "items/a/v1.xml").read_bytes()
    ws.store.close()


def test_wirepub_status_names_a_failed_version_and_drop_gives_it_up(tmp_path):
    (tmp_path / "stories").mkdir()
    ws_template = tmp_path / "newsml.xml.j2"
    ws_template.write_text("{% if 'BREAK' in story.headline %}{{ no_such_name }}{% endif %}"
                           + (REPO / "templates/newsml-g2.xml.j2").read_text())
    (tmp_path / "wirepub.toml").write_text(
        '[source]\nsettle = 0\n[[partners]]\nname = "p"\ndestinations = ["public"]\nformats = ["newsml-g2"]\n'
        f'templates = {{ "newsml-g2" = "{ws_template}" }}\n')
    import json

    (tmp_path / "stories/a.json").write_text(json.dumps(story("a", "BREAK it")))
    runner = CliRunner()
    config = ["--config", str(tmp_path / "wirepub.toml")]
    assert runner.invoke(main, ["push", *config]).exit_code == 1
    status = runner.invoke(main, ["status", *config])
    assert status.exit_code == 1 and "failed version: a v1 (BREAK it)" in status.output
    assert "wirepub drop a 1" in status.output
    assert runner.invoke(main, ["drop", "a", "1", *config]).exit_code == 0
    assert runner.invoke(main, ["status", *config]).exit_code == 0      # nothing wrong any more
    assert runner.invoke(main, ["drop", "a", "1", *config]).exit_code == 1
    assert runner.invoke(main, ["push", *config]).exit_code == 0        # the file stays, and stays dropped
