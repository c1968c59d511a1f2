"""The version recorded with each request: the commit id of the repository named by GIT
(read from its files, no git binary needed), else APP_VERSION."""

from __future__ import annotations

from pathlib import Path

from heron.errors import ConfigError


def git_commit(path: str | Path) -> str:
    """The commit checked out in a git repository: ``path`` is its ``.git`` folder, the
    work tree holding it, or a folder inside that work tree. Follows a branch through loose
    and packed refs; a detached HEAD is the commit itself; a worktree's ``.git`` file is
    followed to its folder."""
    git = Path(path).expanduser()
    if not (git / "HEAD").is_file():  # a work tree, or a folder inside one: find its .git
        for folder in (git, *git.resolve().parents):
            if (folder / ".git").exists():
                git = folder / ".git"
                break
    if git.is_file():  # a worktree or submodule: "gitdir: <folder>"
        text = git.read_text().strip()
        if not text.startswith("gitdir:"):
            raise ConfigError(f"GIT={path}: {git} is not a git folder")
        target = Path(text[len("gitdir:"):].strip())
        git = target if target.is_absolute() else (git.parent / target)
    head_file = git / "HEAD"
    try:
        head = head_file.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"GIT={path}: cannot read {head_file} ({exc.strerror}); "
                          "GIT must name a repository's .git folder") from None
    if not head.startswith("ref:"):
        return head  # detached HEAD
    ref = head[len("ref:"):].strip()
    for folder in (git, _common_dir(git)):
        loose = folder / ref
        if loose.is_file():
            return loose.read_text().strip()
        packed = folder / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line.startswith(("#", "^")) or " " not in line:
                    continue
                sha, name = line.split(" ", 1)
                if name.strip() == ref:
                    return sha
    raise ConfigError(f"GIT={path}: HEAD names {ref}, which has no commit yet")


def _common_dir(git: Path) -> Path:
    common = git / "commondir"
    if common.is_file():
        target = Path(common.read_text().strip())
        return target if target.is_absolute() else (git / target)
    return git


def app_version(git: str | None, app_version_setting: str | None) -> str | None:
    """GIT wins when both are set."""
    if git:
        return git_commit(git)
    return app_version_setting
