"""convvis_lib.net: the bounded network check answers quickly offline."""
import socket
import time

from convvis_lib.net import can_reach


def test_offline_env_answers_false_at_once(monkeypatch):
    monkeypatch.setenv("CONVVIS_OFFLINE", "1")
    start = time.perf_counter()
    assert can_reach("https://download.pytorch.org") is False
    assert time.perf_counter() - start < 0.1


def test_reaches_a_local_listener_and_not_a_closed_port(monkeypatch):
    monkeypatch.delenv("CONVVIS_OFFLINE", raising=False)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert can_reach(f"http://127.0.0.1:{port}/", timeout=2.0) is True
    assert can_reach(f"http://127.0.0.1:{port}/", timeout=2.0) is False  # closed now: refused


def test_an_unanswering_host_gives_up_after_the_timeout(monkeypatch):
    monkeypatch.delenv("CONVVIS_OFFLINE", raising=False)
    def no_answer(*args, **kwargs):
        time.sleep(3)
        raise OSError("timed out")  # what a real connection attempt ends with

    monkeypatch.setattr(socket, "create_connection", no_answer)
    start = time.perf_counter()
    assert can_reach("https://example.invalid", timeout=0.3) is False
    assert time.perf_counter() - start < 2.0
