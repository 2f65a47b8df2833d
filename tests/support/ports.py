"""Ports for servers a test starts (a child process, an in-process site) to listen on."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A free port to listen on, drawn below the kernel's ephemeral range.

    A port the kernel hands out for bind(0) comes from the range it also gives every outgoing
    connection (the suite opens thousands): one of those could take it in the seconds before
    the server binds, and a child process then died with "address already in use"."""
    low = _ephemeral_low()
    draw = random.SystemRandom()
    for _ in range(200):
        port = draw.randrange(max(1024, low - 12_000), low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
