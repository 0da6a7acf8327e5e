"""A router's TLS listener: ``tls-port``, served with the context ``shardis/tls.py`` builds.

Every router listens on tls-port beside the plain port (``port 0`` closes that one),
with SO_REUSEPORT when there are several routers, as for the plain port. The listener
is created once per port with a ``LiveContext``: each new connection takes the context
that is current when it arrives. So a CONFIG SET of a TLS file or setting (checked
before OK by building a context: ``configtable._tls``) gives every router a new
context for the connections that come next, and those already open keep theirs, as
Redis' tlsConfigure does. CONFIG SET tls-port opens the new port and closes the old
one (``0``: only closes); open connections stay. A client's certificate is checked as
``tls-auth-clients`` says (yes: required, optional: verified when given, no: not asked).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from typing import TYPE_CHECKING, Callable

from shardis import configtable
from shardis.tls import VERIFY, TLSConfigError, server_context

if TYPE_CHECKING:
    from shardis.router.app import Router

log = logging.getLogger("router")


class LiveContext(ssl.SSLContext):
    """The context a TLS listener is made with: each connection's TLS state comes from
    ``current`` at the time it arrives (asyncio's and uvloop's SSL transports call
    ``wrap_bio`` once per connection), so that a new context needs no new listener."""

    current: ssl.SSLContext

    def wrap_bio(self, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO, server_side: bool = False,
                 server_hostname: str | bytes | None = None,
                 session: ssl.SSLSession | None = None) -> ssl.SSLObject:
        return self.current.wrap_bio(incoming, outgoing, server_side, server_hostname, session)


def _get(router: Router) -> Callable[[str], object]:
    cfg = router.cfg
    return lambda name: configtable.get_value(cfg, configtable.param(name))


class TLSListener:
    """One router's tls-port: the listening socket, its server, the current context."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.live = LiveContext(ssl.PROTOCOL_TLS_SERVER)
        self.ready = False  # whether ``live.current`` holds a context
        self.port = 0
        self.sock: socket.socket | None = None  # listening (bound at once: no connection refused)
        self.server: asyncio.AbstractServer | None = None
        self.opening: asyncio.Task | None = None

    def apply(self) -> None:
        """Follow the settings (at start, and after a CONFIG SET of any tls-* parameter):
        a new context for new connections, the listener on tls-port (or none)."""
        get = _get(self.router)
        port = get("tls-port")
        assert isinstance(port, int), "a number parameter"
        if not port:
            self.close()
            return
        try:
            ctx = server_context(get)
        except TLSConfigError as e:
            # (CONFIG SET checked these settings; a file changed on disk since)
            log.warning("router %d: TLS configuration not applied, keeping the previous one: %s",
                        self.router.index, e)
            if not self.ready:
                return
            # (tls-auth-clients is read per connection in Redis, whatever else fails)
            self.live.current.verify_mode = VERIFY.get(str(get("tls-auth-clients")), ssl.CERT_REQUIRED)
        else:
            self.live.current = ctx
            self.ready = True
        if port != self.port:
            self.close()
            self._open(port)

    def _open(self, port: int) -> None:
        router = self.router
        try:
            sock = router.listen_socket(port)
        except OSError as e:
            log.error("router %d: cannot listen for TLS on %s:%d: %s", router.index, router.cfg.bind,
                      port, e.strerror)
            return
        self.port = port
        self.sock = sock
        loop = router.loop
        assert loop is not None, "runs on the loop"
        self.opening = loop.create_task(self._serve(sock))

    async def _serve(self, sock: socket.socket) -> None:
        router = self.router
        loop = router.loop
        assert loop is not None, "runs on the loop"
        server = await loop.create_server(router.new_client, sock=sock, ssl=self.live, backlog=511)
        self.opening = None
        if self.sock is not sock:  # closed, or moved to another port, meanwhile
            server.close()
            return
        self.server = server
        log.info("router %d listening for TLS on %s:%d", router.index, router.cfg.bind, self.port)

    def close(self) -> None:
        """Stop listening on tls-port; the connections it took stay."""
        if self.server is not None:
            self.server.close()
        elif self.sock is not None and self.opening is None:
            self.sock.close()
        self.server = None
        self.sock = None
        self.port = 0
