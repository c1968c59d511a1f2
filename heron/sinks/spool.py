"""An append-only spool of batches on disk: what the HTTP sink has not delivered yet.

Layout: ``<root>/<name>/`` per process, holding segment files ``000001.seg`` … and a
``cursor`` file (segment number and byte offset of the oldest record not yet delivered).
A process owns its folder through an exclusive ``flock`` on ``<name>/lock``; the lock dies
with the process, so a later process *adopts* the folders of dead ones and delivers their
records first (nothing is lost across client restarts).

Each record is ``b"HS" | length (4) | crc32 (4) | events (4) | payload`` where the payload is
a gzip-compressed JSON batch. A record that fails its checksum, or a torn tail left by a
crash, is skipped and reported, never a crash.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_dir

logger = logging.getLogger("heron")

MAGIC = b"HS"
HEADER = struct.Struct(">2sIII")  # magic, payload length, crc32, number of events
SEGMENT_BYTES = 8 * 1024 * 1024
MAX_RECORD = 256 * 1024 * 1024


def default_spool_dir() -> Path:
    """Where a process spools what it could not deliver yet, and sets aside what it
    never can: the user's cache folder, so it outlives the process."""
    return Path(user_cache_dir("heron")) / "spool"


@dataclass(frozen=True)
class Record:
    segment: int
    offset: int
    end: int
    events: int
    payload: bytes


class SpoolFolder:
    """One process's (or one adopted dead process's) folder of segments."""

    def __init__(self, path: Path, lock_fd: int):
        self.path = path
        self._lock_fd = lock_fd
        self.corrupt = 0
        self._segment, self._offset = self._read_cursor()
        self._write_segment = max(self._segments(), default=self._segment or 1)
        self._write_fh = None

    # -- layout ------------------------------------------------------------------------
    def _segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.path.glob("*.seg") if p.stem.isdigit())

    def _seg_path(self, number: int) -> Path:
        return self.path / f"{number:06d}.seg"

    def _read_cursor(self) -> tuple[int, int]:
        try:
            segment, offset = (self.path / "cursor").read_text().split()
            return int(segment), int(offset)
        except (OSError, ValueError):
            segments = self._segments()
            return (segments[0] if segments else 1), 0

    def _write_cursor(self) -> None:
        tmp = self.path / "cursor.tmp"
        tmp.write_text(f"{self._segment} {self._offset}")
        os.replace(tmp, self.path / "cursor")

    def pending_bytes(self) -> int:
        total = 0
        for number in self._segments():
            if number < self._segment:
                continue
            size = self._seg_path(number).stat().st_size
            total += size - (self._offset if number == self._segment else 0)
        return max(0, total)

    # -- writing -----------------------------------------------------------------------
    def append(self, payload: bytes, events: int) -> None:
        if self._write_fh is None or self._write_fh.tell() >= SEGMENT_BYTES:
            if self._write_fh is not None:
                self._write_fh.close()
                self._write_segment += 1
            self._write_fh = open(self._seg_path(self._write_segment), "ab")  # noqa: SIM115
        header = HEADER.pack(MAGIC, len(payload), zlib.crc32(payload), events)
        self._write_fh.write(header + payload)
        self._write_fh.flush()  # in the OS once this returns: survives the process dying

    # -- reading -----------------------------------------------------------------------
    def peek(self) -> Record | None:
        """The oldest undelivered record, skipping (and counting) corrupt ones."""
        while True:
            path = self._seg_path(self._segment)
            size = path.stat().st_size if path.exists() else 0
            if self._offset >= size:
                if self._segment >= self._write_segment:
                    return None
                self._retire_segment()
                continue
            with open(path, "rb") as fh:
                fh.seek(self._offset)
                head = fh.read(HEADER.size)
                if len(head) == HEADER.size:
                    magic, length, crc, events = HEADER.unpack(head)
                    if magic == MAGIC and length <= MAX_RECORD:
                        payload = fh.read(length)
                        if len(payload) == length and zlib.crc32(payload) == crc:
                            return Record(self._segment, self._offset,
                                          self._offset + HEADER.size + length, events, payload)
                        if len(payload) == length:
                            self._skip(self._offset + HEADER.size + length, "checksum")
                            continue
                # Writes and reads happen on one thread, so a short or damaged record is
                # damage (a crash mid-write, a full disk), not a write in progress.
                self._resync(path, size)

    def peek_next(self, record: Record) -> Record | None:
        """The record right after ``record`` in its segment, when it is whole there; None
        at the end of a segment or on anything odd (the next :meth:`peek` deals with it).
        No side effects: what the sender sends while ``record`` is in flight."""
        try:
            with open(self._seg_path(record.segment), "rb") as fh:
                fh.seek(record.end)
                head = fh.read(HEADER.size)
                if len(head) < HEADER.size:
                    return None
                magic, length, crc, events = HEADER.unpack(head)
                if magic != MAGIC or length > MAX_RECORD:
                    return None
                payload = fh.read(length)
        except OSError:
            return None
        if len(payload) != length or zlib.crc32(payload) != crc:
            return None
        return Record(record.segment, record.end, record.end + HEADER.size + length, events,
                      payload)

    def commit(self, record: Record) -> None:
        """Mark ``record`` delivered."""
        self._segment, self._offset = record.segment, record.end
        self._write_cursor()

    def _skip(self, to: int, why: str) -> None:
        self.corrupt += 1
        logger.warning("heron spool %s: skipped a corrupt record at %d:%d (%s)", self.path,
                       self._segment, self._offset, why)
        self._offset = to
        self._write_cursor()

    def _resync(self, path: Path, size: int) -> None:
        """Find the next record header after damage, or give up on the segment's tail."""
        with open(path, "rb") as fh:
            fh.seek(self._offset + 1)
            data = fh.read()
        start = self._offset + 1
        index = data.find(MAGIC)
        while index != -1:
            head = data[index:index + HEADER.size]
            if len(head) == HEADER.size:
                _, length, crc, _ = HEADER.unpack(head)
                body = data[index + HEADER.size:index + HEADER.size + length]
                if len(body) == length and zlib.crc32(body) == crc:
                    self._skip(start + index, "damaged header")
                    return
            index = data.find(MAGIC, index + 1)
        self._skip(size, "torn tail")

    def _retire_segment(self) -> None:
        self._seg_path(self._segment).unlink(missing_ok=True)
        self._segment += 1
        self._offset = 0
        self._write_cursor()

    def empty(self) -> bool:
        return self.peek() is None

    def close(self) -> None:
        if self._write_fh is not None:
            self._write_fh.close()
            self._write_fh = None
        os.close(self._lock_fd)

    def remove(self) -> None:
        """Delete the folder (it has been fully delivered) and release it."""
        if self._write_fh is not None:
            self._write_fh.close()
            self._write_fh = None
        for child in self.path.iterdir():
            child.unlink(missing_ok=True)
        self.path.rmdir()
        os.close(self._lock_fd)


def _try_lock(folder: Path) -> int | None:
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


class Spool:
    """The spool of this process: its own folder plus any adopted from dead processes.

    Records come out oldest first: adopted folders before this process's own.
    """

    def __init__(self, root: str | os.PathLike[str], max_bytes: int, name: str = "client"):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.adopted: list[SpoolFolder] = []
        self._corrupt_done = 0
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            fd = _try_lock(folder)
            if fd is None:
                continue  # a live process owns it
            spool = SpoolFolder(folder, fd)
            if spool.empty():
                self._corrupt_done += spool.corrupt
                spool.remove()
            else:
                logger.info("heron adopted undelivered events from %s", folder)
                self.adopted.append(spool)
        own = self.root / f"{name}-{os.getpid()}-{secrets.token_hex(3)}"
        own.mkdir()
        fd = _try_lock(own)
        assert fd is not None
        self.own = SpoolFolder(own, fd)
        self._pending = sum(f.pending_bytes() for f in self.adopted)

    @property
    def corrupt(self) -> int:
        """Corrupt records skipped so far (reported in the log as they are found)."""
        return self._corrupt_done + self.own.corrupt + sum(f.corrupt for f in self.adopted)

    def pending_bytes(self) -> int:
        return self._pending

    def append(self, payload: bytes, events: int) -> bool:
        """Add a batch; False when the spool is full (the caller counts the drop)."""
        size = HEADER.size + len(payload)
        if self._pending + size > self.max_bytes:
            return False
        self.own.append(payload, events)
        self._pending += size
        return True

    def peek(self) -> tuple[SpoolFolder, Record] | None:
        while self.adopted:
            folder = self.adopted[0]
            record = folder.peek()
            if record is not None:
                return folder, record
            self._corrupt_done += folder.corrupt
            folder.remove()
            self.adopted.pop(0)
        record = self.own.peek()
        return (self.own, record) if record is not None else None

    def commit(self, folder: SpoolFolder, record: Record) -> None:
        folder.commit(record)
        self._pending = max(0, self._pending - (record.end - record.offset))

    def has_pending(self) -> bool:
        return self._pending > 0 or bool(self.adopted)

    def close(self) -> None:
        for folder in self.adopted:
            folder.close()
        if self.own.empty():
            self.own.remove()
        else:
            self.own.close()
