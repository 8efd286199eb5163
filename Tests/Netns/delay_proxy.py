#!/usr/bin/env python3
"""A TCP proxy that delays and re-segments what it forwards, standing in for
`tc netem` (whose qdisc this kernel lacks).

    python3 delay_proxy.py --listen 127.0.0.1:PORT --to HOST:PORT [--delay-ms 10-60 | --delay-ms 30] [--seed N]

Each chunk read from either side waits a random delay in the range, then is
written in random pieces of 1 byte to the whole chunk. A stream's bytes keep
their order (a chunk never overtakes the one before it, as TCP guarantees),
but chunks of different connections overtake one another: messages sent to
many clients in one order arrive at them in different orders and at
different times. Prints `listening` once bound; runs until killed.
"""
import argparse
import asyncio
import random


async def pump(reader, writer, delays, rng):
    loop = asyncio.get_running_loop()
    ready_at = 0.0
    queue = asyncio.Queue()

    async def deliver():
        while True:
            item = await queue.get()
            if item is None:
                break
            when, data = item
            await asyncio.sleep(max(0.0, when - loop.time()))
            while data:
                cut = rng.randint(1, len(data))
                writer.write(data[:cut])
                data = data[cut:]
                await writer.drain()
        try:
            writer.write_eof()
        except OSError:
            pass

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            # Never earlier than the chunk before: the stream stays in order.
            ready_at = max(ready_at, loop.time() + rng.uniform(*delays))
            await queue.put((ready_at, data))
    except (ConnectionError, OSError):
        pass
    await queue.put(None)
    try:
        await sender
    except (ConnectionError, OSError):
        pass


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--to", required=True)
    parser.add_argument("--delay-ms", default="10-60")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    bounds = [float(x) / 1000 for x in args.delay_ms.split("-")]
    low, high = bounds[0], bounds[-1]  # "30" is a fixed delay, "10-60" a range
    listen_host, listen_port = args.listen.rsplit(":", 1)
    target_host, target_port = args.to.rsplit(":", 1)
    rng = random.Random(args.seed)

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(target_host, int(target_port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, server_writer, (low, high), rng),
                             pump(server_reader, client_writer, (low, high), rng))
        for writer in (client_writer, server_writer):
            writer.close()

    server = await asyncio.start_server(handle, listen_host, int(listen_port), backlog=4096)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
