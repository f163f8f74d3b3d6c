"""A node's health check treats a port that does not speak HTTP (another node's transport port) as a
node that is not answering, so a start that waits on it times out and stops what it started."""

from __future__ import annotations

import socket
import threading

from hybrid.local_opensearch.node import cluster_health


def test_a_port_that_does_not_speak_http_is_not_healthy() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(5)

    def answer_like_a_transport_port() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"This is not an HTTP port")

    thread = threading.Thread(target=answer_like_a_transport_port, daemon=True)
    thread.start()
    try:
        assert cluster_health(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=5) is None
    finally:
        thread.join(timeout=5)
        server.close()
