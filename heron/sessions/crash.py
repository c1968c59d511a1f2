"""Opt-in crash reports: a failed session opens a GitHub issue (or posts to a
Slack-compatible webhook) with what a developer needs first — the traceback and the stage —
then host and versions, then the log.

Best effort by design: a report that cannot be sent is kept in an outbox next to the
sessions and retried when the next session starts; reporting never changes a session's
outcome. The token is read from the environment variable named by ``token_env``, never from
a file, and never written anywhere. Token-like strings are always redacted from what is
sent; with ``sanitize_log`` the subject and user ids are too, wherever they appear.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import re
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heron.errors import ConfigError
from heron.sessions.files import write_json

log = logging.getLogger("session.crash_report")

REPORT_ON = ("exception", "pre_acquisition", "post_acquisition")
KEYS = {"enabled", "repo", "token_env", "labels", "report_on", "max_output_lines",
        "include_log", "log_mode", "sanitize_log", "include_subject_user", "include_params",
        "api_url", "webhook_url"}
GITHUB_BODY_LIMIT = 65_000  # GitHub refuses issue bodies over 65,536 characters
SAME_FAILURE_WINDOW_S = 86_400
REDACTED = "[redacted]"
TOKEN_PATTERNS = [
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)\b(token|password|passwd|secret|api[_-]?key)(\s*[:=]\s*)([^\s,;'\"]+)"),
]


@dataclass
class CrashReportConfig:
    repo: str | None = None
    token_env: str | None = None
    labels: list[str] = field(default_factory=lambda: ["crash"])
    report_on: list[str] = field(default_factory=lambda: ["exception"])
    max_output_lines: int = 200
    include_log: bool = True
    log_mode: str = "tail"
    sanitize_log: bool = False
    include_subject_user: bool = False
    include_params: bool = False
    api_url: str = "https://api.github.com"
    webhook_url: str | None = None

    @classmethod
    def parse(cls, block: dict[str, Any] | None) -> CrashReportConfig | None:
        """The ``crash_report`` parameter block; None when absent or not enabled."""
        if not block:
            return None
        if not isinstance(block, dict):
            raise ConfigError("crash_report must be a table")
        unknown = sorted(set(block) - KEYS)
        if unknown:
            raise ConfigError(f"crash_report: unknown key(s) {', '.join(unknown)}; known: "
                              f"{', '.join(sorted(KEYS))}")
        if not block.get("enabled", False):
            return None
        config = cls(**{k: v for k, v in block.items() if k != "enabled"})
        if config.webhook_url is None:
            if not config.repo or config.repo.count("/") != 1:
                raise ConfigError("crash_report.repo must be owner/name (or give a "
                                  "webhook_url instead)")
            if not config.token_env:
                raise ConfigError("crash_report.token_env must name the environment "
                                  "variable holding the GitHub token (never the token)")
        bad = sorted(set(config.report_on) - set(REPORT_ON))
        if bad:
            raise ConfigError(f"crash_report.report_on: unknown {', '.join(bad)}; choose from "
                              f"{', '.join(REPORT_ON)}")
        if config.log_mode not in ("tail", "full"):
            raise ConfigError("crash_report.log_mode must be tail or full")
        if int(config.max_output_lines) < 1:
            raise ConfigError("crash_report.max_output_lines must be at least 1")
        return config


@dataclass
class Failure:
    kind: str                 # exception, pre_acquisition or post_acquisition
    title_subject: str        # the exception type, or the stage
    traceback: str
    stage: str
    fingerprint: str


def fingerprint(kind: str, text: str) -> str:
    """Exception type + top frames (file and function), or the stage and failing modules."""
    frames = re.findall(r'File "([^"]+)", line \d+, in (\S+)', text)[-5:]
    last = text.strip().splitlines()[-1] if text.strip() else ""
    key = f"{kind}|{last.split(':', 1)[0]}|" + "|".join(f"{f}:{fn}" for f, fn in frames)
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:24]


class Reporter:
    """Sends reports for one session; ``state_dir`` holds the outbox and the registry of
    issues opened (for the same-failure-within-a-day comment)."""

    def __init__(self, config: CrashReportConfig, state_dir: Path):
        self.config = config
        self.state_dir = state_dir
        self.outbox = state_dir / ".heron_crash_outbox"
        self.registry = state_dir / ".heron_crash_reports.json"

    # -- building ----------------------------------------------------------------------
    def build(self, session: Any, failure: Failure, log_text: str) -> dict[str, Any]:
        c = self.config
        secrets = [s for s in (os.environ.get(c.token_env or ""),) if s]
        people = [str(v) for v in (session.subject_id, session.user_id) if v]
        # Subject and user ids stay out of the body (title, folder, paths, traceback)
        # unless include_subject_user; in the log excerpt they go only with sanitize_log.
        private = [] if c.include_subject_user else people
        private_log = people if c.sanitize_log and not c.include_subject_user else []

        def redact(text: str, values: list[str]) -> str:
            text = redact_tokens(text, secrets)
            for value in values:
                text = text.replace(value, REDACTED)
            return text

        def clean(text: str) -> str:
            return redact(text, private)

        name = clean(session.name)
        if failure.kind == "exception":
            title = f"Crash: {failure.title_subject} in {name} [{session.id}]"
        else:  # the modules that failed, by name
            title = (f"Failure: {failure.stage} pipeline: {clean(failure.title_subject)} "
                     f"failed [{session.id}]")
        head = [f"## {failure.kind if failure.kind == 'exception' else 'Pipeline failure'}"
                f" in stage `{failure.stage}`", "", "```", clean(failure.traceback).rstrip(),
                "```", "", "## Session", "",
                f"- session: `{session.id}` ({name})",
                f"- folder: `{clean(str(session.folder))}`",
                f"- host: `{socket.gethostname()}`, {platform.platform()}",
                f"- Python {sys.version.split()[0]}, heron {_heron_version()}"]
        if c.include_subject_user:
            head.append(f"- subject: `{session.subject_id}`, user: `{session.user_id}`")
        if c.include_params:
            head += ["", "## Parameters", "", "```json",
                     clean(json.dumps(session.params, indent=2, default=str)), "```"]
        body = "\n".join(head)
        if c.include_log and log_text:
            lines = log_text.splitlines()
            if c.log_mode == "tail":
                lines = lines[-int(c.max_output_lines):]
            room = GITHUB_BODY_LIMIT - len(body) - 200
            text = redact("\n".join(lines), private_log)
            if len(text) > room:  # the log gives way; the traceback above is never cut
                text = "…(earlier lines cut to fit)\n" + text[-max(0, room):]
            body += f"\n\n## Log ({c.log_mode})\n\n```\n{text}\n```"
        return {"title": title, "body": body, "labels": list(c.labels),
                "fingerprint": failure.fingerprint, "session_id": session.id,
                "created": time.time()}

    # -- sending -------------------------------------------------------------------------
    def send(self, report: dict[str, Any]) -> dict[str, Any] | None:
        """Send now; on failure keep it in the outbox. Returns {issue_url, issue_number,
        reported_at} (or {webhook, reported_at}) when it went out."""
        try:
            result = self._deliver(report)
        except Exception as exc:  # noqa: BLE001 - never change the session's outcome
            log.warning("crash report not sent (%s); kept for the next session", exc)
            self._keep(report)
            return None
        log.info("crash report sent: %s", result.get("issue_url") or "webhook",
                 extra={"heron_crash_report": result.get("issue_url") or "webhook"})
        return result

    def retry_outbox(self) -> int:
        """Send what earlier sessions could not; returns how many went out."""
        if not self.outbox.is_dir():
            return 0
        sent = 0
        for path in sorted(self.outbox.glob("*.json")):
            try:
                report = json.loads(path.read_text())
                self._deliver(report)
            except Exception as exc:  # noqa: BLE001
                log.warning("kept crash report %s not sent yet: %s", path.name, exc)
                continue
            path.unlink(missing_ok=True)
            sent += 1
        return sent

    def _keep(self, report: dict[str, Any]) -> None:
        try:
            write_json(self.outbox / f"{report['session_id']}-{int(report['created'])}.json",
                       report)
        except OSError as exc:
            log.warning("could not keep the crash report: %s", exc)

    def _deliver(self, report: dict[str, Any]) -> dict[str, Any]:
        if self.config.webhook_url:
            text = f"*{report['title']}*\n{report['body'][:3500]}"
            status, _ = _request("POST", self.config.webhook_url, {"text": text}, {})
            if status >= 300:
                raise OSError(f"webhook answered {status}")
            return {"webhook": True, "reported_at": _now_iso()}
        token = os.environ.get(self.config.token_env or "")
        if not token:
            raise OSError(f"environment variable {self.config.token_env} is not set")
        headers = {"Authorization": f"Bearer {token}",
                   "Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": "2022-11-28"}
        base = f"{self.config.api_url.rstrip('/')}/repos/{self.config.repo}"
        known = self._registry().get(report["fingerprint"])
        if known and time.time() - known["reported_at_ts"] < SAME_FAILURE_WINDOW_S:
            status, issue = _request("GET", f"{base}/issues/{known['issue_number']}", None,
                                     headers)
            if status == 200 and issue.get("state") == "open":
                status, _ = _request("POST", f"{base}/issues/{known['issue_number']}/comments",
                                     {"body": f"The same failure again: {report['title']}\n\n"
                                              + report["body"]}, headers)
                if status >= 300:
                    raise OSError(f"GitHub answered {status} to the comment")
                return {"issue_url": known["issue_url"],
                        "issue_number": known["issue_number"], "reported_at": _now_iso(),
                        "comment": True}
        status, issue = _request("POST", f"{base}/issues",
                                 {"title": report["title"], "body": report["body"],
                                  "labels": report["labels"]}, headers)
        if status >= 300:
            raise OSError(f"GitHub answered {status}: {str(issue)[:200]}")
        result = {"issue_url": issue["html_url"], "issue_number": issue["number"],
                  "reported_at": _now_iso()}
        registry = self._registry()
        registry[report["fingerprint"]] = {**result, "reported_at_ts": time.time()}
        write_json(self.registry, registry)
        return result

    def _registry(self) -> dict[str, Any]:
        try:
            return json.loads(self.registry.read_text())  # type: ignore[no-any-return]
        except (OSError, ValueError):
            return {}


def redact_tokens(text: str, secrets: list[str] = ()) -> str:  # type: ignore[assignment]
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    for pattern in TOKEN_PATTERNS:
        if pattern.groups == 3:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
        elif pattern.groups == 1:
            text = pattern.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def _request(method: str, url: str, body: Any, headers: dict[str, str]
             ) -> tuple[int, dict[str, Any]]:
    import urllib3  # here: every process that imports heron would carry it otherwise

    with urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=20)) as pool:
        response = pool.request(method, url, body=None if body is None else json.dumps(body),
                                headers={"Content-Type": "application/json",
                                         "User-Agent": "heron-crash-report", **headers})
    try:
        data = json.loads(response.data) if response.data else {}
    except ValueError:
        data = {"text": response.data[:200].decode("utf-8", "replace")}
    return response.status, data if isinstance(data, dict) else {"data": data}


def _now_iso() -> str:
    from datetime import datetime

    return datetime.now().astimezone().isoformat(timespec="seconds")


def _heron_version() -> str:
    from heron._version import __version__

    return __version__
