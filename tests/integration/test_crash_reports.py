"""Crash reports against a real HTTP server on 127.0.0.1 playing GitHub's issues API."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import heron
from heron.errors import ConfigError

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


class FakeGitHub:
    def __init__(self, fail: bool = False) -> None:
        self.requests: list[dict] = []  # type: ignore[type-arg]
        self.fail = fail
        self.issues: dict[int, dict] = {}  # type: ignore[type-arg]
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # type: ignore[no-untyped-def]
                pass

            def _answer(self, status: int, body: dict) -> None:  # type: ignore[type-arg]
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append({"method": "GET", "path": self.path,
                                       "auth": self.headers.get("Authorization")})
                number = int(self.path.rsplit("/", 1)[-1])
                self._answer(200, outer.issues.get(number, {"state": "closed"}))

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"method": "POST", "path": self.path, "body": body,
                                       "auth": self.headers.get("Authorization")})
                if outer.fail:
                    self._answer(502, {"message": "bad gateway"})
                elif self.path.endswith("/comments"):
                    self._answer(201, {"id": 9})
                else:
                    number = len(outer.issues) + 1
                    outer.issues[number] = {"number": number, "state": "open",
                                            "html_url": f"https://github.test/o/r/issues/{number}"}
                    self._answer(201, outer.issues[number])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def github(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RIG_GH_TOKEN", TOKEN)
    server = FakeGitHub()
    yield server
    server.close()


def block(url: str, **extra) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return {"enabled": True, "repo": "o/r", "token_env": "RIG_GH_TOKEN", "api_url": url,
            "labels": ["crash", "rig-2"], **extra}


def crash(tmp_path: Path, report: dict, subject: str = "mouse-42") -> heron.sessions.Session:  # type: ignore[type-arg]
    with pytest.raises(RuntimeError), heron.session(
            tmp_path, subject_id=subject, user_id="ana", name=f"grating-{subject}",
            crash_report=report) as s:
        s.log.info("using token %s for the upload", TOKEN)
        s.log.info("subject %s is on the rig", subject)
        raise RuntimeError("stimulus monitor disconnected")
    return s


def test_an_exception_opens_an_issue_with_the_traceback_first(tmp_path: Path, github) -> None:  # type: ignore[no-untyped-def]
    s = crash(tmp_path, block(github.url, sanitize_log=True))
    post = github.requests[-1]
    assert post["path"] == "/repos/o/r/issues" and post["auth"] == f"Bearer {TOKEN}"
    title, body = post["body"]["title"], post["body"]["body"]
    assert title == f"Crash: RuntimeError in grating-[redacted] [{s.id}]"
    assert post["body"]["labels"] == ["crash", "rig-2"]
    assert body.index("RuntimeError: stimulus monitor disconnected") < body.index("## Session")
    assert body.index("## Session") < body.index("## Log")
    assert "mouse-42" not in title + body and "ana" not in body.split("## Log")[1]
    assert TOKEN not in body and "[redacted]" in body
    debug = json.loads((s.metadata / "debug_state.json").read_text())
    assert debug["crash_report"]["issue_url"] == "https://github.test/o/r/issues/1"
    assert debug["crash_report"]["issue_number"] == 1
    end = json.loads((s.metadata / "end_state.json").read_text())
    assert end["outcome"] == "failed"


def test_the_same_failure_within_a_day_comments_instead(tmp_path: Path, github) -> None:  # type: ignore[no-untyped-def]
    crash(tmp_path, block(github.url))
    second = crash(tmp_path, block(github.url))
    posts = [r for r in github.requests if r["method"] == "POST"]
    assert [p["path"] for p in posts] == ["/repos/o/r/issues", "/repos/o/r/issues/1/comments"]
    debug = json.loads((second.metadata / "debug_state.json").read_text())
    assert debug["crash_report"]["issue_number"] == 1


def test_a_failed_pipeline_stage_is_reported_when_asked(tmp_path: Path, github) -> None:  # type: ignore[no-untyped-def]
    def qc() -> bool:
        return False

    def copy_data() -> bool:
        raise OSError("disk full")

    with heron.session(tmp_path, crash_report=block(github.url,
                                                    report_on=["post_acquisition"])) as s:
        s.run_pipeline("post_acquisition", [qc, copy_data])
    post = github.requests[-1]
    # every module that failed, not only the first (issue 20)
    assert post["body"]["title"] == \
        f"Failure: post_acquisition pipeline: qc, copy_data failed [{s.id}]"
    assert "disk full" in post["body"]["body"] and "qc:" in post["body"]["body"]
    debug = json.loads((s.metadata / "debug_state.json").read_text())
    assert debug["github"]["issue_url"] == debug["crash_report"]["issue_url"]
    debug = json.loads((s.metadata / "debug_state.json").read_text())
    assert debug["crash_report"]["issue_number"] == 1
    assert json.loads((s.metadata / "end_state.json").read_text())["outcome"] == "ok"


def test_an_unreachable_reporter_keeps_the_report_and_retries(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RIG_GH_TOKEN", TOKEN)
    down = FakeGitHub(fail=True)
    s = crash(tmp_path, block(down.url))
    down.close()
    debug = json.loads((s.metadata / "debug_state.json").read_text())
    assert debug["crash_report"] == {"sent": False, "kept_for_retry": True}
    assert debug["crash_info"]["exception_type"] == "RuntimeError"  # still written
    kept = list((tmp_path / ".heron_crash_outbox").glob("*.json"))
    assert len(kept) == 1 and TOKEN not in kept[0].read_text()
    up = FakeGitHub()
    try:
        with heron.session(tmp_path, crash_report=block(up.url)):
            pass
        assert [r["path"] for r in up.requests if r["method"] == "POST"] == [
            "/repos/o/r/issues"]
        assert not list((tmp_path / ".heron_crash_outbox").glob("*.json"))
    finally:
        up.close()


def test_webhook_reports_and_configuration_errors(tmp_path: Path, github) -> None:  # type: ignore[no-untyped-def]
    crash(tmp_path, {"enabled": True, "webhook_url": github.url + "/hook"})
    post = github.requests[-1]
    assert post["path"] == "/hook" and "Crash: RuntimeError" in post["body"]["text"]
    with pytest.raises(ConfigError, match="token_env"):
        heron.session(tmp_path, crash_report={"enabled": True, "repo": "o/r"})
    with pytest.raises(ConfigError, match="unknown key.*tokn"):
        heron.session(tmp_path, crash_report={"enabled": True, "tokn": "x"})
    with pytest.raises(ConfigError, match="report_on"):
        heron.session(tmp_path, crash_report=block("http://127.0.0.1:9", report_on=["x"]))


def test_the_session_page_links_the_crash_report(tmp_path: Path, github, db_url,
                                                 admin_client) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    heron.init(app="rig-2", database=url, table_prefix=prefix)
    s = crash(tmp_path, block(github.url))
    assert heron.flush(10)
    page = admin_client.get(f"/dashboard/sessions/{s.id}").get_data(as_text=True)
    assert 'href="https://github.test/o/r/issues/1"' in page


def test_the_launchers_own_parameter_file_and_github_issue_block(tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                 monkeypatch) -> None:
    """Issue 20: seed 004's ``github_issue`` block in a parameter file, as written, with the
    experiment's own keys at the top level; only where GitHub is (a server on 127.0.0.1)
    is added by the test."""
    from heron.sessions import from_params
    from tests.seeds import json_blocks, seed_text

    [seed] = [b for b in json_blocks(seed_text("004")) if "github_issue" in b]
    assert seed["github_issue"]["launcher_log_mode"] == "full"
    monkeypatch.setenv(seed["github_issue"]["token_env"], TOKEN)
    fake = FakeGitHub()
    try:
        params = tmp_path / "params.json"
        params.write_text(json.dumps({"output_dir": str(tmp_path / "out"),
                                      "subject_id": "mouse-42", "user_id": "ana",
                                      "stimulus": "gratings", **seed}), encoding="utf-8")
        session = from_params(params, None, **{"github_issue.api_url": fake.url})
        assert session.params == {"stimulus": "gratings"}  # the experiment's own key
        with pytest.raises(RuntimeError), session as s:
            s.log.info("subject mouse-42 placed on the rig by ana")
            raise RuntimeError("lost the camera")
    finally:
        fake.close()
    [post] = [r for r in fake.requests if r["method"] == "POST"]
    repo = seed["github_issue"]["repo"]
    assert post["path"] == f"/repos/{repo}/issues"
    assert post["body"]["labels"] == seed["github_issue"]["labels"]
    body = post["body"]["body"]
    head, _, log = body.partition("## Log (full)")
    # by default the ids stay out of the body (the folder is named after the subject)...
    assert "mouse-42" not in post["body"]["title"] and "mouse-42" not in head
    assert "subject:" not in head and "`ana`" not in head
    # ...and the log excerpt is kept as it is: sanitize_launcher_log is false in the seed
    assert "subject mouse-42 placed on the rig" in log
    debug = json.loads((s.metadata / "debug_state.json").read_text())
    assert debug["github"]["issue_url"] == "https://github.test/o/r/issues/1"
