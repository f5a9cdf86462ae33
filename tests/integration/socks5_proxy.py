#!/usr/bin/env python3
"""A SOCKS5 proxy for the tests (RFC 1928): no authentication, CONNECT only, and only to
loopback addresses (a name is looked up here, as a socks5h:// client expects). Prints "PORT n"
once it listens on 127.0.0.1. Each CONNECT asked is appended to --log as one JSON line,
{"atyp": "ipv4" | "domain" | "ipv6", "host": ..., "port": ...}, before it is answered; then
bytes are relayed both ways until either side closes.

    socks5_proxy.py --log FILE [--port N]
"""
import argparse
import asyncio
import ipaddress
import json
import socket
import struct
import sys

REPLY_OK, REPLY_NOT_ALLOWED, REPLY_REFUSED, REPLY_BAD_COMMAND, REPLY_BAD_ADDRESS = 0, 2, 5, 7, 8


def reply(writer, code):
    writer.write(b"\x05" + bytes([code]) + b"\x00\x01" + bytes(6))  # bound address: 0.0.0.0:0


async def read_target(reader, atyp):
    """(kind, host, port) of a request whose address type is `atyp`; (None, ...) if unknown."""
    if atyp == 1:
        kind, host = "ipv4", socket.inet_ntop(socket.AF_INET, await reader.readexactly(4))
    elif atyp == 3:
        length = (await reader.readexactly(1))[0]
        kind, host = "domain", (await reader.readexactly(length)).decode("latin-1")
    elif atyp == 4:
        kind, host = "ipv6", socket.inet_ntop(socket.AF_INET6, await reader.readexactly(16))
    else:
        return None, None, None
    (port,) = struct.unpack("!H", await reader.readexactly(2))
    return kind, host, port


async def relay(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def handle(reader, writer, log_path):
    try:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        if version != 5 or 0 not in methods:
            writer.write(b"\x05\xff")  # no acceptable method
            return
        writer.write(b"\x05\x00")
        _, command, _, atyp = await reader.readexactly(4)  # VER CMD RSV ATYP
        kind, host, port = await read_target(reader, atyp)
        if kind is None:
            reply(writer, REPLY_BAD_ADDRESS)
            return
        with open(log_path, "a") as log:
            log.write(json.dumps({"atyp": kind, "host": host, "port": port}) + "\n")
        if command != 1:
            reply(writer, REPLY_BAD_COMMAND)
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port,
                                                                 type=socket.SOCK_STREAM)
        except OSError:
            reply(writer, REPLY_BAD_ADDRESS)
            return
        address = infos[0][4][0]
        if not ipaddress.ip_address(address).is_loopback:
            reply(writer, REPLY_NOT_ALLOWED)  # the tests reach nothing but this machine
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(address, port)
        except OSError:
            reply(writer, REPLY_REFUSED)
            return
        reply(writer, REPLY_OK)
        await asyncio.gather(relay(reader, up_writer), relay(up_reader, writer))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, a.log), "127.0.0.1", a.port)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
