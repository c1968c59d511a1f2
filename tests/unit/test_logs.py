"""The log search syntax, and heron.LogHandler recorded into a MemorySink."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import pytest

import heron
from heron import events as ev
from heron.logs.query import QueryError, parse
from heron.sinks.memory import MemorySink


# ------------------------------------------------------------------------- query syntax
def test_words_phrases_exclusions_and_prefixes() -> None:
    q = parse('disk "connection reset" -heartbeat conn*')
    assert [(t.tokens, t.exclude, t.prefix) for t in q.terms] == [
        (("disk",), False, False), (("connection", "reset"), False, False),
        (("heartbeat",), True, False), (("conn",), False, True)]
    assert q.fts5_match() == '("disk" AND "connection reset" AND "conn" *) NOT "heartbeat"'
    assert q.tsquery() == "(disk) & (connection <-> reset) & (conn:*) & !(heartbeat)"


def test_fields_level_logger_app() -> None:
    q = parse("level:warn timeout logger:myapp.db -logger:werkzeug app:rig-1")
    assert q.level == 30
    assert q.loggers == ("myapp.db",) and q.excluded_loggers == ("werkzeug",)
    assert q.apps == ("rig-1",)
    assert [t.tokens for t in q.terms] == [("timeout",)]
    assert parse("level:ERROR").level == 40 and parse("level:50").level == 50
    assert parse('logger:"my app"').loggers == ("my app",)


@pytest.mark.parametrize("text, tokens", [
    ("id=123", ("id", "123")),             # punctuation: a literal phrase, not syntax
    ("NOT", ("NOT",)),                      # an operator alone is a word
    ("AND OR", None),
    ('"-x"', ("x",)),                       # a quoted minus is not an exclusion
    ("user@example.com", ("user", "example", "com")),
    ("col:value", ("col", "value")),        # an unknown field is searched as text
    ("NEAR(a", ("NEAR", "a")),
])
def test_user_text_never_becomes_engine_syntax(text: str, tokens: tuple[str, ...] | None
                                               ) -> None:
    q = parse(text)
    if tokens is not None:
        assert q.terms[0].tokens == tokens
        assert not q.terms[0].exclude
    for term in q.terms:
        assert all(tok.isalnum() for tok in term.tokens)
    assert all(t.fts5().count('"') == 2 for t in q.terms)


def test_unbalanced_quote_searches_the_rest_as_a_phrase() -> None:
    q = parse('error "disk full')
    assert [t.tokens for t in q.terms] == [("error",), ("disk", "full")]
    assert q.notes and "quote" in q.notes[0]


def test_text_without_letters_is_ignored_with_a_note() -> None:
    q = parse("=== ***")
    assert q.terms == () and len(q.notes) == 2


@pytest.mark.parametrize("text, message", [
    ("level:loud", "is not a level"),
    ("-level:error", "cannot be excluded"),
    ("level:", None),
])
def test_bad_fields_give_a_clear_message(text: str, message: str | None) -> None:
    if message is None:  # an empty value is just a word
        assert [t.tokens for t in parse(text).terms] == [("level",)]
        return
    with pytest.raises(QueryError, match=message):
        parse(text)


def test_form_level_keeps_the_stricter() -> None:
    assert parse("level:error").with_level(30).level == 40
    assert parse("x").with_level(30).level == 30


# ------------------------------------------------------------------------------ handler
@pytest.fixture
def sink(tmp_path: Path):  # type: ignore[no-untyped-def]
    memory = MemorySink()
    heron.init(app="svc", sink=memory, client_config_file=str(tmp_path / "switch.json"),
               capture_logs=True)
    yield memory
    heron.shutdown()


def logs(sink: MemorySink) -> list[ev.Log]:
    heron.flush(5)
    return [e for e in sink.events if isinstance(e, ev.Log)]


def test_records_become_log_events_with_extras_and_exceptions(sink: MemorySink) -> None:
    log = logging.getLogger("myapp.db")
    log.info("connected to %s", "db1", extra={"attempt": 3, "obj": object()})
    try:
        {}["missing"]
    except KeyError:
        log.exception("lookup failed")
    log.debug("not shipped at INFO")
    lines = [e for e in logs(sink) if e.logger == "myapp.db"]
    assert [e.message for e in lines] == ["connected to db1", "lookup failed"]
    first, second = lines
    assert first.app == "svc" and first.level == logging.INFO
    assert first.extra["attempt"] == 3 and first.extra["obj"].startswith("<object")
    assert first.pathname == __file__ and first.lineno > 0
    assert first.thread == threading.current_thread().name and first.process > 0
    assert second.level == logging.ERROR
    assert "KeyError: 'missing'" in second.exc_text and "Traceback" in second.exc_text


def test_context_tags_run_and_request(sink: MemorySink) -> None:
    with heron.run("train") as r:
        logging.getLogger("algo").warning("inside the run")
    logging.getLogger("algo").warning("outside")
    by_message = {e.message: e for e in logs(sink)}
    assert by_message["inside the run"].run_id == r.id
    assert by_message["outside"].run_id is None


def test_bad_format_arguments_keep_the_line(sink: MemorySink) -> None:
    log = logging.getLogger("x")
    log.propagate = False  # pytest's own capture would raise on the bad arguments
    log.addHandler(heron.LogHandler())
    try:
        log.warning("%d items", "many")
    finally:
        log.handlers.clear()
        log.propagate = True
    (line,) = [e for e in logs(sink) if e.logger == "x"]
    assert "%d items" in line.message and "many" in line.message


def test_heron_logging_about_itself_does_not_loop(sink: MemorySink) -> None:
    from heron._internal import inside_heron

    handler_calls = []

    class Noisy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            handler_calls.append(record.getMessage())
            if len(handler_calls) < 50:  # a handler that logs while handling
                logging.getLogger("noisy").warning("again")

    logging.getLogger("noisy").addHandler(Noisy())
    try:
        with inside_heron():
            logging.getLogger("heron").warning("delivery failed")
        logging.getLogger("noisy").warning("first")
    finally:
        logging.getLogger("noisy").handlers.clear()
    shipped = [e.message for e in logs(sink)]
    assert "delivery failed" not in shipped
    assert shipped.count("first") == 1 and len(shipped) < 60


def test_a_record_through_two_handlers_is_shipped_once(sink: MemorySink) -> None:
    extra = heron.LogHandler(app="svc")
    logging.getLogger("twice").addHandler(extra)
    try:
        logging.getLogger("twice").error("once please")
    finally:
        logging.getLogger("twice").removeHandler(extra)
    assert [e.message for e in logs(sink)].count("once please") == 1


def test_uncaught_exceptions_in_threads_are_recorded_then_passed_on() -> None:
    seen: list[BaseException | None] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: seen.append(args.exc_value)
    memory = MemorySink()
    heron.init(app="svc", sink=memory)
    try:
        def boom() -> None:
            raise RuntimeError("worker exploded")

        t = threading.Thread(target=boom, name="worker-7")
        t.start()
        t.join()
        heron.flush(5)
        (line,) = [e for e in memory.events if isinstance(e, ev.Log)]
        assert line.level == logging.CRITICAL and "worker exploded" in line.message
        assert line.logger == "uncaught" and line.thread == "worker-7"
        assert "RuntimeError" in line.exc_text
        assert [str(e) for e in seen] == ["worker exploded"]  # the previous hook still ran
    finally:
        heron.shutdown()  # puts the previous hook back
        assert seen and threading.excepthook.__name__ == "<lambda>"
        threading.excepthook = previous


def test_sys_excepthook_is_chained_and_restored() -> None:
    seen = []
    try:
        raise ValueError("top level")
    except ValueError:
        exc_type, exc, tb = sys.exc_info()
    previous = sys.excepthook
    sys.excepthook = lambda *a: seen.append(a[1])
    memory = MemorySink()
    heron.init(app="svc", sink=memory)
    try:
        sys.excepthook(exc_type, exc, tb)
        assert seen == [exc]
        assert any(isinstance(e, ev.Log) and "top level" in e.message
                   for e in (heron.flush(5) and memory.events))
    finally:
        heron.shutdown()  # puts the previous hook back
        assert sys.excepthook.__name__ == "<lambda>"
        sys.excepthook = previous


def test_capture_logs_rejects_a_bad_level(tmp_path: Path) -> None:
    from heron.errors import ConfigError

    heron.shutdown()
    with pytest.raises(ConfigError, match="capture_logs"):
        heron.init(app="x", sink=MemorySink(), capture_logs="LOUD")
