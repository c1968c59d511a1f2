"""Participant counts per status and the experiment's yield, as ``dallinger summary`` has it.

Yield = approved participants / participants whose status is not working. With every
participant still working there is no yield (None), rather than a misleading 0%.
"""

from __future__ import annotations

from dataclasses import dataclass

from heron.experiment.statuses import normalize


@dataclass(frozen=True)
class Summary:
    app: str
    counts: dict[str, int]  # status as stored → participants

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def yield_(self) -> float | None:
        meanings = {status: normalize(status) for status in self.counts}
        finished = sum(n for s, n in self.counts.items() if meanings[s] != "working")
        if finished == 0:
            return None
        approved = sum(n for s, n in self.counts.items() if meanings[s] == "approved")
        return approved / finished

    def as_json(self) -> dict[str, object]:
        return {"app": self.app, "counts": self.counts, "yield": self.yield_}


def _order(status: str) -> tuple[int, int, str]:
    return (0, int(status), "") if status.isdigit() else (1, 0, status)


def format_summary(summary: Summary) -> str:
    """The table and yield line, exactly as Dallinger prints them."""
    statuses = sorted(summary.counts, key=_order)
    width = max((len(s) for s in statuses), default=0)
    lines = ["status | count", "-" * 16]
    lines += [f"{s.ljust(width)} | {summary.counts[s]}" for s in statuses]
    lines.append("")
    value = summary.yield_
    if value is not None:
        lines.append(f"Yield: {value * 100:.2f}%")
    elif summary.total:
        lines.append("Yield: n/a (all participants still working)")
    else:
        lines.append("Yield: n/a (no participants yet)")
    return "\n".join(lines)
