"""A bounded check for network access, so offline paths answer quickly."""
from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlparse

OFFLINE_ENV = "CONVVIS_OFFLINE"


def can_reach(url: str, timeout: float = 3.0) -> bool:
    """Return True if a TCP connection to ``url``'s host opens within ``timeout`` s.

    DNS lookups have no timeout of their own, so the check runs in a daemon
    thread and is abandoned after ``timeout`` seconds. Setting the environment
    variable ``CONVVIS_OFFLINE=1`` makes it return False at once.
    """
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        return False
    parsed = urlparse(url)
    host = parsed.hostname or url
    port = parsed.port or (443 if parsed.scheme != "http" else 80)
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(result and result[0])
