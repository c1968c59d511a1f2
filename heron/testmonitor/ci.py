"""Which build a test run belongs to: given, or read from the CI's environment.

Flask-MonitoringDashboard identified a test run by the Travis build number; heron reads
the build number and commit of GitHub Actions, GitLab CI, Jenkins and Travis CI from the
variables each sets, else the git commit of the checkout, else the time of the run.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Build:
    """A test run's build: its id (what the Test Monitor groups results by), the CI that ran
    it (``None`` off CI) and the commit it tested, when known."""

    id: str
    ci: str | None = None
    commit: str | None = None


#: (CI, variable that says it runs, build number variables in order, commit variable)
CIS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("GitHub Actions", "GITHUB_ACTIONS", ("GITHUB_RUN_NUMBER", "GITHUB_RUN_ID"), "GITHUB_SHA"),
    ("GitLab CI", "GITLAB_CI", ("CI_PIPELINE_IID", "CI_PIPELINE_ID"), "CI_COMMIT_SHA"),
    ("Travis CI", "TRAVIS", ("TRAVIS_BUILD_NUMBER",), "TRAVIS_COMMIT"),
    ("Jenkins", "JENKINS_URL", ("BUILD_NUMBER",), "GIT_COMMIT"),
)


def detect(env: Mapping[str, str], root: Path, given: str | None = None) -> Build:
    """The build of this run: ``given`` (``--heron-build``) wins; then the CI's own build
    number; then the commit checked out in ``root``; then ``local-<UTC time>``."""
    ci_name, number, commit = None, None, None
    for name, marker, numbers, commit_var in CIS:
        if env.get(marker):
            ci_name = name
            number = next((env[v] for v in numbers if env.get(v)), None)
            commit = env.get(commit_var) or None
            break
    if commit is None:
        commit = git_commit(root)
    if given:
        return Build(given, ci_name, commit)
    if number:
        attempt = env.get("GITHUB_RUN_ATTEMPT") if ci_name == "GitHub Actions" else None
        if attempt and attempt != "1":  # a re-run of the same workflow run
            number = f"{number}.{attempt}"
        return Build(number, ci_name, commit)
    if commit:
        return Build(commit[:12], ci_name, commit)
    return Build("local-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), ci_name, None)


def git_commit(root: Path) -> str | None:
    """The commit checked out at ``root``, or None (no git, not a checkout)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None
