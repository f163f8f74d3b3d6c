"""Ports for local nodes: drawn together so that no two are the same."""

from __future__ import annotations

import socket

from hybrid.local_opensearch.node import free_ports, port_is_free


def test_ports_drawn_together_are_distinct_and_free_once_released() -> None:
    ports = free_ports(12)
    assert len(set(ports)) == 12 and all(1024 <= p <= 65535 for p in ports)
    assert all(port_is_free(p) for p in ports)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a port in use is never drawn
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        assert taken not in free_ports(50)
