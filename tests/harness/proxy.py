"""A loopback TCP proxy that can go silent: a half-open link on demand.

`freeze()` keeps every connection open but forwards nothing in either
direction (what a peer behind dead Wi-Fi looks like: no FIN, no RST, no
bytes); `thaw()` forwards again.  `cut()` resets every open connection.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._frozen = threading.Event()
        self._stop = threading.Event()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self._thread.start()

    def freeze(self) -> None:
        self._frozen.set()

    def thaw(self) -> None:
        self._frozen.clear()

    def cut(self) -> None:
        """Reset every open connection (RST, as a rebooted router does)."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                self._close(sock, reset=True)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.cut()
        self._selector.close()
        self._listener.close()

    def _close(self, sock: socket.socket, reset: bool = False) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
        if reset:  # SO_LINGER 0 makes close() send RST instead of FIN
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if key.data is None:
                    self._accept()
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                peer: socket.socket = key.data
                if not data:
                    self._drop(sock, peer)
                elif not self._frozen.is_set():
                    try:
                        peer.sendall(data)
                    except OSError:
                        self._drop(sock, peer)
                # frozen: the bytes are swallowed; both ends still think the link is up

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        with self._lock:
            self._pairs.append((client, upstream))
        self._selector.register(client, selectors.EVENT_READ, upstream)
        self._selector.register(upstream, selectors.EVENT_READ, client)

    def _drop(self, a: socket.socket, b: socket.socket) -> None:
        with self._lock:
            self._pairs = [p for p in self._pairs if a not in p]
        self._close(a)
        self._close(b)
