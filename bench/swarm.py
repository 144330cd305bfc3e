"""The reader swarm: worker processes that each hold a share of the reader WebSockets.

The orchestrator drives every worker through a multiprocessing pipe with small commands
(connect, record, progress, stats, storm, close) and collects what the readers saw. Every
timestamp is `time.time_ns()`, one clock for all processes of this machine, so
publish-to-delivery latency is the receive time minus the T0 the publisher put in the entry.
"""

import asyncio
import multiprocessing
import random
import resource
import time
from dataclasses import dataclass, field
from typing import Any

from bench.wsclient import Reader


def raise_open_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class Target:
    host: str
    port: int
    path: str
    deflate: bool

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass
class Swarm:
    readers: list[Reader] = field(default_factory=list)
    recording: bool = False
    latencies: list[int] = field(default_factory=list)
    counts: dict[int, int] = field(default_factory=dict)
    duplicates: int = 0
    out_of_order: int = 0
    resets: int = 0
    closed_unexpectedly: int = 0
    wire_bytes: int = 0
    message_bytes: int = 0
    messages: int = 0
    # reader index -> (since, storm start ns); seqs each reader received during the storm
    storm_since: dict[int, int] = field(default_factory=dict)
    storm_got: dict[int, dict[int, int]] = field(default_factory=dict)
    storm_start: int = 0
    storm_back_at: dict[int, int] = field(default_factory=dict)
    storm_hello: dict[int, int] = field(default_factory=dict)  # reader index -> its hello, ns
    storm_failed: int = 0
    last_seq: dict[int, int] = field(default_factory=dict)
    expect_close: bool = False
    # The herd (bench/herd.py): newcomers' indices -> when each started its page GET, ns;
    # their deliveries are not counted as the existing readers' latencies.
    newcomers: dict[int, int] = field(default_factory=dict)
    herd_failed: int = 0
    herd_hello: dict[int, int] = field(default_factory=dict)

    # --- callbacks from the readers --------------------------------------------------

    def on_hello(self, reader: Reader, seq: int) -> None:
        # A first connection stands for a page load: the reader has everything up to hello.
        # After a storm reconnect it has what it saw before the drop, and catches up.
        if reader.index in self.newcomers:
            # A newcomer is current once the changes after its page's seq have reached it,
            # not when greeted (its hello names the event's seq, not what it has).
            self.herd_hello.setdefault(reader.index, time.time_ns())
            return
        if not self.storm_start:
            self.last_seq[reader.index] = max(self.last_seq.get(reader.index, -1), seq)
        else:
            self.storm_hello.setdefault(reader.index, time.time_ns())

    def on_reset(self, reader: Reader) -> None:
        self.resets += 1

    def on_closed(self, reader: Reader) -> None:
        if not self.expect_close and reader.handshaken and self.readers[reader.index] is reader:
            self.closed_unexpectedly += 1

    def on_change(self, reader: Reader, seq: int, now: int, t0: int, size: int) -> None:
        previous = self.last_seq.get(reader.index, -1)
        if seq <= previous:
            if seq in self.storm_got.get(reader.index, {}) or self.counts.get(seq):
                self.duplicates += 1
            else:
                self.out_of_order += 1
        self.last_seq[reader.index] = max(previous, seq)
        if self.storm_start:
            self.storm_got.setdefault(reader.index, {}).setdefault(seq, now)
            return
        if not self.recording or reader.index in self.newcomers:
            return
        count = self.counts.get(seq, 0)
        self.counts[seq] = count + 1
        self.messages += 1
        self.message_bytes += size
        if t0:
            self.latencies.append(now - t0)

    # --- connecting ------------------------------------------------------------------

    async def open_one(self, target: Target, index: int, path: str, attempts: int = 5) -> bool:
        loop = asyncio.get_running_loop()
        for attempt in range(attempts):
            reader: Reader | None = None
            try:
                _, reader = await asyncio.wait_for(
                    loop.create_connection(
                        lambda: Reader(
                            self, index, path, f"{target.host}:{target.port}",
                            target.origin, target.deflate,
                        ),
                        target.host,
                        target.port,
                    ),
                    timeout=30,
                )  # fmt: skip
                if index < len(self.readers):
                    self.readers[index] = reader
                if await asyncio.wait_for(reader.opened, timeout=30):
                    return True
            except (TimeoutError, OSError):
                if reader is not None:
                    reader.abort()
            await asyncio.sleep(0.2 * (attempt + 1) + random.random() * 0.3)
        return False

    async def connect(self, target: Target, count: int, concurrency: int) -> dict[str, Any]:
        start = time.monotonic()
        gate = asyncio.Semaphore(concurrency)
        base = len(self.readers)
        self.readers.extend([None] * count)  # type: ignore[list-item]

        async def one(index: int) -> bool:
            async with gate:
                return await self.open_one(target, index, target.path)

        results = await asyncio.gather(*(one(base + i) for i in range(count)))
        ok = sum(results)
        return {"connected": ok, "failed": count - ok, "seconds": time.monotonic() - start}

    # --- the reconnect storm ---------------------------------------------------------

    async def storm(self, target: Target, spread: float, outage: float = 0.0) -> None:
        """Drop every reader at once, as a flaky network would, and bring each back with
        ?since=<the last seq it saw> at a random moment within `spread` seconds (after an
        `outage` during which none can come back)."""
        self.storm_start = time.time_ns()
        self.storm_got = {}
        self.storm_since = {}
        self.storm_back_at = {}
        self.storm_hello = {}
        self.expect_close = True
        for reader in self.readers:
            if reader is not None:
                self.storm_since[reader.index] = self.last_seq.get(reader.index, 0)
                reader.abort()
        await asyncio.sleep(0.05)
        self.expect_close = False

        async def back(index: int, since: int) -> None:
            await asyncio.sleep(outage + random.uniform(0, spread))
            self.storm_back_at[index] = time.time_ns()
            path = f"{target.path}?since={since}"
            if not await self.open_one(target, index, path):
                self.storm_failed += 1

        await asyncio.gather(*(back(i, s) for i, s in self.storm_since.items()))

    def storm_report(self, target_seq: int) -> dict[str, Any]:
        converged: list[int] = []
        catch_up: list[int] = []  # from a reader's reconnect to having everything
        missing = 0
        for index, since in self.storm_since.items():
            got = self.storm_got.get(index, {})
            needed = range(since + 1, target_seq + 1)
            lacking = [s for s in needed if s not in got]
            if lacking:
                missing += 1
            else:
                times = [got[s] for s in needed]
                converged.append((max(times) if times else self.storm_start) - self.storm_start)
                if times and index in self.storm_back_at:
                    catch_up.append(max(times) - self.storm_back_at[index])
        return {
            "readers": len(self.storm_since),
            "converged": len(converged),
            "unconverged": missing,
            "last_converged_ns": max(converged) if converged else None,
            "hellos": len(self.storm_hello),
            "last_hello_ns": (
                max(self.storm_hello.values()) - self.storm_start if self.storm_hello else None
            ),
            "catch_up_ns": catch_up,
            "failed": self.storm_failed,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "resets": self.resets,
        }

    # --- the herd --------------------------------------------------------------------

    async def herd(
        self, target: Target, count: int, spread: float, page: str, page_port: int
    ) -> None:
        """`count` newcomers, each at a random moment within `spread` seconds: GET the event
        page (from `page_port`, a web process as in production), read its data-seq, and open
        the socket with ?since=<that seq>, as the reader page's script does."""
        from bench.herd import fetch_seq

        base = len(self.readers)
        self.readers.extend([None] * count)  # type: ignore[list-item]
        self.herd_failed = 0

        async def one(index: int) -> None:
            await asyncio.sleep(random.uniform(0, spread))
            self.newcomers[index] = time.time_ns()
            seq = await fetch_seq(target.host, page_port, page)
            if seq is not None:
                self.last_seq[index] = seq
            if seq is None or not await self.open_one(target, index, f"{target.path}?since={seq}"):
                self.herd_failed += 1

        await asyncio.gather(*(one(base + i) for i in range(count)))

    def herd_report(self, target_seq: int) -> dict[str, Any]:
        current = [i for i in self.newcomers if self.last_seq.get(i, -1) >= target_seq]
        return {
            "newcomers": len(self.newcomers),
            "hellos": len(self.herd_hello),
            "current": len(current),
            "failed": self.herd_failed,
            "first_start_ns": min(self.newcomers.values()) if self.newcomers else None,
            "last_hello_ns": max(self.herd_hello.values()) if self.herd_hello else None,
        }

    def close_all(self) -> None:
        self.expect_close = True
        for reader in self.readers:
            if reader is not None:
                reader.abort()
        self.readers = []
        self.last_seq = {}
        self.newcomers, self.herd_hello = {}, {}


async def _serve(conn: Any) -> None:
    loop = asyncio.get_running_loop()
    swarm = Swarm()
    storm_task: asyncio.Task[None] | None = None
    while True:
        command, args = await loop.run_in_executor(None, conn.recv)
        if command == "connect":
            target = Target(**args["target"])
            reply: Any = await swarm.connect(target, args["count"], args["concurrency"])
        elif command == "record":
            swarm.recording = True
            swarm.latencies, swarm.counts = [], {}
            swarm.duplicates = swarm.out_of_order = swarm.resets = 0
            swarm.wire_bytes = swarm.message_bytes = swarm.messages = 0
            swarm.closed_unexpectedly = 0
            reply = True
        elif command == "progress":
            reply = {"deliveries": sum(swarm.counts.values()), "counts": dict(swarm.counts)}
        elif command == "stats":
            swarm.recording = False
            reply = {
                "latencies": swarm.latencies,
                "counts": dict(swarm.counts),
                "duplicates": swarm.duplicates,
                "out_of_order": swarm.out_of_order,
                "resets": swarm.resets,
                "closed": swarm.closed_unexpectedly,
                "wire_bytes": swarm.wire_bytes,
                "message_bytes": swarm.message_bytes,
                "messages": swarm.messages,
                "connected": sum(1 for r in swarm.readers if r is not None and not r.closed),
            }
        elif command == "storm":
            swarm.duplicates = swarm.out_of_order = swarm.resets = swarm.storm_failed = 0
            storm_task = asyncio.create_task(
                swarm.storm(Target(**args["target"]), args["spread"], args.get("outage", 0.0))
            )
            reply = time.time_ns()
        elif command == "storm_report":
            reply = swarm.storm_report(args["target_seq"])
            reply["reconnecting"] = storm_task is not None and not storm_task.done()
        elif command == "herd":
            storm_task = asyncio.create_task(
                swarm.herd(
                    Target(**args["target"]),
                    args["count"],
                    args["spread"],
                    args["page"],
                    args["page_port"],
                )
            )
            reply = time.time_ns()
        elif command == "herd_report":
            reply = swarm.herd_report(args["target_seq"])
            reply["arriving"] = storm_task is not None and not storm_task.done()
        elif command == "close_all":
            if storm_task is not None and not storm_task.done():
                storm_task.cancel()
            swarm.close_all()
            swarm.storm_start = 0
            await asyncio.sleep(0.2)
            reply = True
        elif command == "exit":
            swarm.close_all()
            conn.send(True)
            return
        else:
            reply = {"error": f"unknown command {command!r}"}
        conn.send(reply)


def worker_main(conn: Any) -> None:
    raise_open_file_limit()
    try:
        import uvloop

        uvloop.run(_serve(conn))
    except ImportError:
        asyncio.run(_serve(conn))


class Workers:
    """The orchestrator's handle on the swarm processes."""

    def __init__(self, count: int):
        context = multiprocessing.get_context("spawn")
        self.pipes = []
        self.processes = []
        for _ in range(count):
            parent, child = context.Pipe()
            process = context.Process(target=worker_main, args=(child,), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def ask(
        self, command: str, args: dict[str, Any] | None = None, only: int | None = None
    ) -> list[Any]:
        pipes = self.pipes if only is None else self.pipes[:only]
        for pipe in pipes:
            pipe.send((command, args or {}))
        return [pipe.recv() for pipe in pipes]

    def ask_split(self, command: str, total: int, args: dict[str, Any]) -> list[Any]:
        """Send `command` with `count` split across workers (fewer workers for small N)."""
        used = max(1, min(len(self.pipes), (total + 999) // 1000))
        shares = [total // used + (1 if i < total % used else 0) for i in range(used)]
        for pipe, share in zip(self.pipes[:used], shares, strict=True):
            pipe.send((command, {**args, "count": share}))
        return [pipe.recv() for pipe in self.pipes[:used]]

    def close(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("exit", {}))
                pipe.recv()
            except (OSError, EOFError):
                pass
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
