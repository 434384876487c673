"""The launcher's ports: free when handed out, and out of reach of outgoing connections."""

from __future__ import annotations

import socket
from pathlib import Path

from tools.launch import free_ports


def test_consecutive_ports_are_free_and_below_the_ephemeral_range() -> None:
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range")
    first_ephemeral = int(ephemeral.read_text().split()[0]) if ephemeral.exists() else 32768
    first = free_ports(3)
    assert first + 3 <= first_ephemeral
    servers = [socket.socket() for _ in range(3)]
    try:
        for offset, server in enumerate(servers):
            server.bind(("127.0.0.1", first + offset))  # would raise were any of them taken
    finally:
        for server in servers:
            server.close()
