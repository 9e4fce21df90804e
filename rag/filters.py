"""Asking within a date range or a set of sources: which chunks a question may be answered from.

A `SourceFilter` keeps a source when its date lies in [since, until] (both inclusive, YYYY-MM-DD; a
date guessed from the file counts as its date) and, when sources are named, when its file path or its
outlet is one of them (case-insensitive). Retrieval applies it before ranking, in every engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rag.errors import QuestionError
from rag.index import Index, SourceInfo
from rag.metadata import iso_day


@dataclass(frozen=True)
class SourceFilter:
    since: str | None = None
    until: str | None = None
    sources: tuple[str, ...] = ()

    @classmethod
    def parse(cls, since: str | None = None, until: str | None = None,
              sources: Iterable[str] | None = None) -> "SourceFilter | None":
        """A filter from what a user typed, or None when nothing restricts; a date that is not
        YYYY-MM-DD is a `QuestionError`."""
        days = []
        for label, value in (("since", since), ("until", until)):
            value = (value or "").strip()
            if value and iso_day(value) != value:
                raise QuestionError(f"{label} date {value!r}: write it as YYYY-MM-DD (2025-07-29)")
            days.append(value or None)
        names = tuple(dict.fromkeys(s.strip() for s in (sources or []) if s and s.strip()))
        if days[0] and days[1] and days[0] > days[1]:
            raise QuestionError(f"the since date {days[0]} is after the until date {days[1]}")
        return cls(days[0], days[1], names) if (days[0] or days[1] or names) else None

    def allows(self, info: SourceInfo) -> bool:
        # a month alone ("2025-05", stated in the text) is kept when any of its days is in range
        first, last = (info.date + "-01", info.date + "-31") if len(info.date or "") == 7 else (info.date, info.date)
        if self.since and (not last or last < self.since):
            return False
        if self.until and (not first or first > self.until):
            return False
        if self.sources:
            wanted = {s.casefold() for s in self.sources}
            return info.path.casefold() in wanted or (info.outlet or "").casefold() in wanted
        return True

    def source_ids(self, index: Index) -> tuple[str, ...]:
        """The ids of the index's sources it keeps."""
        return tuple(sid for sid, info in index.sources.items() if self.allows(info))

    def check(self, index: Index) -> None:
        """A `QuestionError` when it keeps none of the index's sources (a misspelt outlet, dates no article
        has): said as such, not as a question the articles cannot answer."""
        if not self.source_ids(index):
            raise QuestionError(f"no article matches the filter ({self.describe()}); check its dates, "
                                "outlets and file names")

    def describe(self) -> str:
        parts = []
        if self.since:
            parts.append(f"since {self.since}")
        if self.until:
            parts.append(f"until {self.until}")
        if self.sources:
            parts.append("in " + ", ".join(self.sources))
        return "; ".join(parts)
