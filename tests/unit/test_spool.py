"""The on-disk spool: order, restarts, damage, size cap."""

from __future__ import annotations

from pathlib import Path

from heron.sinks.spool import Spool


def drain(spool: Spool) -> list[bytes]:
    out = []
    while (item := spool.peek()) is not None:
        folder, record = item
        out.append(record.payload)
        spool.commit(folder, record)
    return out


def test_records_come_back_in_order_once(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 10**9)
    for i in range(100):
        assert spool.append(f"batch {i}".encode(), 1)
    assert drain(spool) == [f"batch {i}".encode() for i in range(100)]
    assert spool.peek() is None and spool.pending_bytes() == 0
    spool.close()


def test_a_new_process_adopts_what_a_dead_one_left(tmp_path: Path) -> None:
    first = Spool(tmp_path, 10**9)
    for i in range(5):
        first.append(f"old {i}".encode(), 1)
    folder, record = first.peek()  # type: ignore[misc]
    first.commit(folder, record)   # "old 0" was delivered before the process died
    first.close()                  # the lock goes with the process
    second = Spool(tmp_path, 10**9)
    second.append(b"new", 1)
    assert drain(second) == [b"old 1", b"old 2", b"old 3", b"old 4", b"new"]
    second.close()
    assert [p for p in tmp_path.iterdir()] == []  # delivered folders are removed


def test_live_owner_keeps_its_folder(tmp_path: Path) -> None:
    owner = Spool(tmp_path, 10**9)
    owner.append(b"mine", 1)
    other = Spool(tmp_path, 10**9)
    assert other.peek() is None  # not adopted while its owner lives
    other.close()
    assert drain(owner) == [b"mine"]
    owner.close()


def test_corrupt_records_are_skipped_and_counted(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 10**9)
    for i in range(3):
        spool.append(f"record-{i}".encode(), 1)
    segment = next(spool.own.path.glob("*.seg"))
    data = bytearray(segment.read_bytes())
    index = data.find(b"record-1")
    data[index] ^= 0xFF  # flip a byte of the second record's payload
    segment.write_bytes(bytes(data))
    assert drain(spool) == [b"record-0", b"record-2"]
    assert spool.corrupt == 1
    spool.close()


def test_torn_tail_after_a_crash(tmp_path: Path) -> None:
    first = Spool(tmp_path, 10**9)
    first.append(b"complete", 1)
    first.append(b"cut short by a crash", 1)
    segment = next(first.own.path.glob("*.seg"))
    first.close()
    segment.write_bytes(segment.read_bytes()[:-5])
    second = Spool(tmp_path, 10**9)
    assert drain(second) == [b"complete"]
    assert second.corrupt == 1
    second.close()


def test_size_cap(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1000)
    accepted = sum(spool.append(b"x" * 100, 1) for _ in range(20))
    assert accepted == 8  # 8 × (100 + 14 header bytes) fits in 1000
    drain(spool)
    assert spool.append(b"x" * 100, 1)  # room again once delivered
    spool.close()
