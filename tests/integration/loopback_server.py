"""What the test servers (mock_upstream.py, tunnel_proxy.py) share: listen, tell the harness
the port on one "PORT n" line, serve until killed."""
import asyncio
import sys


async def serve(handle, host, port, **kwargs):
    """Serves `handle(reader, writer)` on host:port (0: any free port) until cancelled."""
    server = await asyncio.start_server(handle, host, port, **kwargs)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def run(main):
    """Runs the coroutine function `main`; an interrupt is a clean exit."""
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
