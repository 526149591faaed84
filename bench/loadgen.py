"""An open-loop load generator: requests leave on a fixed schedule, whatever the server does.

Latency is measured from each request's *scheduled* send time, so a server that stalls is
charged for every request that should have gone out meanwhile (no coordinated omission).
Runs as its own process; prints one JSON object.

    python bench/loadgen.py --port 8000 --rate 1500 --seconds 20 --body seed.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path


async def run(host: str, port: int, body: bytes, rate: float, seconds: float, conns: int) -> dict:
    request = (
        b"POST /email HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (host.encode(), len(body))
    ) + body
    loop = asyncio.get_running_loop()
    due: asyncio.Queue[float | None] = asyncio.Queue()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        while (scheduled := await due.get()) is not None:
            try:
                writer.write(request)
                status = (await reader.readline()).split(b" ", 2)[1].decode()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
            except (OSError, IndexError, asyncio.IncompleteReadError) as error:
                status = type(error).__name__
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            statuses[status] += 1
            latencies.append(loop.time() - scheduled)
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(conns)]
    total = int(rate * seconds)
    start = loop.time() + 0.2
    for n in range(total):
        scheduled = start + n / rate
        if (delay := scheduled - loop.time()) > 0:
            await asyncio.sleep(delay)
        due.put_nowait(scheduled)
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {
        "offered_rate": rate,
        "requests": len(latencies),
        "statuses": dict(statuses),
        "achieved_rate": len(latencies) / (loop.time() - start),
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "max_ms": latencies[-1] * 1000,
        "finished_at": time.time(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=1500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--body", type=Path, required=True)
    args = parser.parse_args()
    result = asyncio.run(
        run(args.host, args.port, args.body.read_bytes(), args.rate, args.seconds, args.connections)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
