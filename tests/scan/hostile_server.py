#!/usr/bin/env python3
"""Services that misbehave, for the scanner's bad-input tests. Listens on ADDRESS at four ports:

  BASE+0 garbage: sends 200,000 random bytes, then closes
  BASE+1 silent:  accepts and never sends; closes when the client does
  BASE+2 endless: sends without end until the client goes away
  BASE+3 reset:   reads what the client sends, then resets the connection (RST)
  BASE+4 trickle: reads what the client sends, then announces a 16 KiB TLS record and sends it
                  one byte a second

Usage: hostile_server.py ADDRESS BASE_PORT. Runs until terminated.
"""
import asyncio
import os
import socket
import struct
import sys


async def garbage(reader, writer):
    writer.write(os.urandom(200_000))
    await writer.drain()
    writer.close()


async def silent(reader, writer):
    await reader.read()
    writer.close()


async def endless(reader, writer):
    try:
        while True:
            writer.write(b"A" * 65536)
            await writer.drain()
    except (ConnectionError, OSError):
        pass


async def reset(reader, writer):
    await reader.read(1)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def trickle(reader, writer):
    await reader.read(1)
    try:
        writer.write(b"\x16\x03\x03\x40\x00")
        while True:
            await writer.drain()
            await asyncio.sleep(1)
            writer.write(b"\x00")
    except (ConnectionError, OSError):
        pass


async def main(address, base):
    servers = [await asyncio.start_server(handler, address, base + i)
               for i, handler in enumerate([garbage, silent, endless, reset, trickle])]
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
