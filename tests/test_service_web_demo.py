"""``wintermute demo``: a real process serving the web UI on 127.0.0.1, with the engine, the
external venues, background order flow and an audit trail (SQLite in its run directory, the
monitors on, answered at ``/api/audit``); it stops on Ctrl-C (SIGINT) or after
``--duration``, and a taken port is a clear error."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from storage_servers import start_redis
from wintermute import journal
from wintermute.cli import main
from wintermute.service.web_demo import demo_config
from wintermute.storage import AuditQuery, open_store
from wintermute.storage.redis_tier import RedisReader

START_TIMEOUT_S = 60.0
ADMIN = {"X-API-Key": "demo-admin-key"}


class DemoProcess:
    """``wintermute demo`` in a child process, its output read line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wintermute.cli", "demo", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        # Threads own both pipes (so neither fills up, and no line goes elsewhere); they end
        # at the pipes' end, when the process exits.
        self.readers = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.err.extend(self.proc.stderr)

    def wait(self, timeout: float) -> str:
        """Waits for the process and its output to end; returns its stderr."""
        self.proc.wait(timeout=timeout)
        for reader in self.readers:
            reader.join(timeout=10)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return "".join(self.err)

    def url(self) -> str:
        """The address the demo printed."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None, "".join(self.err)
                continue
            found = re.search(r"the web UI is at (http://127\.0\.0\.1:\d+)/", line)
            if found:
                return found.group(1)
        raise AssertionError("the demo printed no address")

    def rest(self) -> str:
        out = []
        while not self.lines.empty():
            out.append(self.lines.get())
        return "".join(out)


def book_seq(url: str) -> int:
    seq: int = httpx.get(f"{url}/api/book/BTC-USD", timeout=10).json()["seq"]
    return seq


def test_the_demo_serves_the_ui_with_a_moving_book_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    demo = DemoProcess("--duration", "150", "--run-dir", str(tmp_path / "run"))
    try:
        url = demo.url()
        page = httpx.get(f"{url}/", timeout=10)
        assert page.status_code == 200
        assert "Price ladder" in page.text
        assert httpx.get(f"{url}/ui/app.js", timeout=10).status_code == 200
        config = httpx.get(f"{url}/api/ui/config", timeout=10).json()
        assert config["api_key"] == "demo-key-1"
        assert config["market"] is True
        first = book_seq(url)
        deadline = time.monotonic() + 30
        while book_seq(url) <= first + 5:
            assert time.monotonic() < deadline, "the demo's book did not move"
            time.sleep(0.2)
        # The flow rests orders before it crosses any: on a busy machine the first trade can
        # come well after the book's first moves.
        while not httpx.get(f"{url}/api/trades/BTC-USD", timeout=10).json():
            assert time.monotonic() < deadline + 30, "no trades on the tape yet"
            time.sleep(0.2)
        assert "wintermute_engine_commands_total" in httpx.get(f"{url}/metrics", timeout=10).text
        with connect(url.replace("http://", "ws://") + "/ws/market", open_timeout=10) as ws:
            sample = json.loads(ws.recv(timeout=10))
            assert sorted(sample["venues"]) == ["binance", "coinbase", "kraken"]
            # The market maker quotes on our venue, as account 9, off the external books.
            # Its quotes rest in our book. The sample and the book are read one after the
            # other and it may requote in between (on a busy machine the read takes a while):
            # read both again until they agree.
            while True:
                maker = sample["market_maker"]
                if maker["state"] == "running" and maker["quotes"]:
                    depth = httpx.get(
                        f"{url}/api/book/BTC-USD", params={"depth": 100}, timeout=10
                    ).json()
                    prices = {s: {Decimal(lv[0]) for lv in depth[s]} for s in ("bids", "asks")}
                    if any(Decimal(q["price"]) in prices["bids" if q["side"] == "buy" else "asks"]
                           for q in maker["quotes"]):  # fmt: skip
                        break
                assert time.monotonic() < deadline + 60, f"no quotes in the book: {maker}"
                sample = json.loads(ws.recv(timeout=10))
        assert maker["message"] == "market maker: running (BTC-USD, account 9)"
        # The audit trail: the flow's events, a report, and the monitors' alerts.
        events = httpx.get(f"{url}/api/audit/events", headers=ADMIN, timeout=10).json()
        assert {e["kind"] for e in events} >= {"accepted", "trade"}
        day = time.strftime("%Y-%m-%d", time.gmtime(events[0]["ts_ns"] / 1e9))
        # A maker, a taker and the market maker each reach the day's report (the flow picks
        # its participants at random, so one may not have acted yet: ask again until then).
        while True:
            report = httpx.get(f"{url}/api/audit/report", params={"day": day}, headers=ADMIN,
                               timeout=10).json()  # fmt: skip
            accounts = {a["account"] for a in report["accounts"]}
            if {101, 201, 9} <= accounts:
                break
            assert time.monotonic() < deadline + 60, f"accounts in the report: {accounts}"
            time.sleep(0.5)
        while not (alerts := httpx.get(f"{url}/api/audit/alerts", headers=ADMIN,
                                       timeout=10).json()):  # fmt: skip
            assert time.monotonic() < deadline + 90, "no compliance alert in the demo"
            time.sleep(1)
        assert alerts[0]["rule"] == "cancel_rate"
    finally:
        demo.proc.send_signal(signal.SIGINT)
        try:
            err = demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.proc.kill()
            raise
    assert demo.proc.returncode == 0, err
    rest = demo.rest()
    assert f"audit trail: sqlite:///{tmp_path / 'run' / 'audit.db'}" in rest
    assert "Wintermute demo: stopped" in rest
    assert "Traceback" not in err


def test_the_demo_stops_by_itself_with_its_whole_journal_in_the_audit_trail(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    demo = DemoProcess("--duration", "3", "--no-market", "--run-dir", str(run))
    url = demo.url()
    assert httpx.get(f"{url}/health", timeout=10).status_code == 200
    err = demo.wait(timeout=60)
    assert demo.proc.returncode == 0, err
    assert "Traceback" not in err
    last = journal.summarize(run / "journal")["last_seq"]
    store = open_store(f"sqlite:///{run / 'audit.db'}")
    assert last is not None
    assert store.last_seq() == last  # stored through the journal's end
    assert store.query(AuditQuery(limit=1))
    store.close()


def test_the_demo_without_an_audit_trail_answers_503_there(tmp_path: Path) -> None:
    demo = DemoProcess("--duration", "2", "--no-market", "--no-audit", "--run-dir",
                       str(tmp_path / "run"))  # fmt: skip
    url = demo.url()
    r = httpx.get(f"{url}/api/audit/events", headers=ADMIN, timeout=10)
    assert (r.status_code, r.json()["code"]) == (503, "AUDIT_OFF")
    assert demo.wait(timeout=60) is not None
    assert demo.proc.returncode == 0
    assert not (tmp_path / "run").exists()


def test_a_taken_port_is_a_clear_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["demo", "--port", str(port), "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is already in use" in err
    assert "--port 0" in err


def test_the_demo_config_is_a_valid_engine_config() -> None:
    from wintermute.config import EngineConfig

    config = EngineConfig.from_dict(demo_config())
    assert [i.symbol for i in config.instruments] == ["BTC-USD"]


def test_the_demo_with_redis_publishes_our_book_the_venues_and_the_consolidated_bbo(
    tmp_path: Path,
) -> None:
    redis_url, server = start_redis(tmp_path)  # a server of its own: the demo's keys are "wm:"
    try:
        run = tmp_path / "run"
        demo = DemoProcess("--duration", "8", "--run-dir", str(run), "--redis", redis_url)
        demo.url()
        err = demo.wait(timeout=90)
        assert demo.proc.returncode == 0, err
        assert "Traceback" not in err
        assert f"publishing the books to Redis at {redis_url}" in demo.rest()
        reader = RedisReader(redis_url)
        ours = reader.book("BTC-USD")
        assert ours is not None
        assert ours["seq"] == journal.summarize(run / "journal")["last_seq"]  # the final state
        for venue in ("binance", "coinbase", "kraken"):
            book = reader.venue_book("BTC-USD", venue)
            assert book is not None, venue
            assert book["bids"], venue
        consolidated = reader.consolidated("BTC-USD")
        assert consolidated is not None
        assert consolidated["bid"] is not None
        assert consolidated["bid"] < consolidated["ask"] or consolidated["cross"] != "none"
        reader.close()
    finally:
        server.kill()
        server.wait()
