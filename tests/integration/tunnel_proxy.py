#!/usr/bin/env python3
"""A tunnelling proxy for the tests, on one port: SOCKS5 (RFC 1928: no authentication, CONNECT
only) and HTTP CONNECT (RFC 9110 §9.3.6), told apart by the first byte. Tunnels go to loopback
addresses only (a name is looked up here, as a socks5h:// client expects). Prints "PORT n" once
it listens on 127.0.0.1. Each tunnel asked for is appended to --log as one JSON line before it is
answered: {"atyp": "ipv4" | "domain" | "ipv6", "host": ..., "port": ...} for SOCKS5,
{"connect": "HOST:PORT"} for HTTP. Then bytes are relayed both ways until either side closes.

    tunnel_proxy.py --log FILE [--port N]
"""
import argparse
import asyncio
import ipaddress
import json
import socket
import struct

import loopback_server

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


def log_line(log_path, record):
    with open(log_path, "a") as log:
        log.write(json.dumps(record) + "\n")


async def open_tunnel(host, port):
    """(reader, writer) to host:port when it is a loopback address or a name for one; else a
    SOCKS5 reply code."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return REPLY_BAD_ADDRESS
    address = infos[0][4][0]
    if not ipaddress.ip_address(address).is_loopback:
        return REPLY_NOT_ALLOWED  # the tests reach nothing but this machine
    try:
        return await asyncio.open_connection(address, port)
    except OSError:
        return REPLY_REFUSED


async def http_connect(first, reader, writer, log_path):
    head = first + await reader.readuntil(b"\r\n\r\n")
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    method, authority, _ = (request_line.split(" ") + ["", ""])[:3]
    host, _, port = authority.rpartition(":")
    if method != "CONNECT" or not port.isdigit():
        writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        return
    log_line(log_path, {"connect": authority})
    tunnel = await open_tunnel(host.strip("[]"), int(port))
    if isinstance(tunnel, int):
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        return
    up_reader, up_writer = tunnel
    # A field of its own, so that a gateway relaying this answer as the upstream's shows it.
    writer.write(b"HTTP/1.1 200 Connection established\r\nX-Tunnel: yes\r\n\r\n")
    await asyncio.gather(relay(reader, up_writer), relay(up_reader, writer))


async def handle(reader, writer, log_path):
    try:
        first = await reader.readexactly(1)
        if first != b"\x05":
            await http_connect(first, reader, writer, log_path)
            return
        count = (await reader.readexactly(1))[0]
        methods = await reader.readexactly(count)
        if 0 not in methods:
            writer.write(b"\x05\xff")  # no acceptable method
            return
        writer.write(b"\x05\x00")
        _, command, _, atyp = await reader.readexactly(4)  # VER CMD RSV ATYP
        kind, host, port = await read_target(reader, atyp)
        if kind is None:
            reply(writer, REPLY_BAD_ADDRESS)
            return
        log_line(log_path, {"atyp": kind, "host": host, "port": port})
        if command != 1:
            reply(writer, REPLY_BAD_COMMAND)
            return
        tunnel = await open_tunnel(host, port)
        if isinstance(tunnel, int):
            reply(writer, tunnel)
            return
        up_reader, up_writer = tunnel
        reply(writer, REPLY_OK)
        await asyncio.gather(relay(reader, up_writer), relay(up_reader, writer))
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    await loopback_server.serve(lambda r, w: handle(r, w, a.log), "127.0.0.1", a.port)


if __name__ == "__main__":
    loopback_server.run(main)
