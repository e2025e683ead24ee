"""The handler pool: O(1) acquire, FIFO hand-over, exhaustion, circuit breaker, metrics."""

from __future__ import annotations

import asyncio

import pytest

from hyphal.http import HandlerPool, PoolExhausted


class Ctx:
    closed = False

    def call(self, request):  # pragma: no cover - not called here
        return None

    def close(self):
        self.closed = True


async def test_acquire_release_and_fifo_handover():
    pool = HandlerPool(Ctx, 1, wait_timeout=1)
    ctx = pool.try_acquire()
    assert ctx is not None and pool.try_acquire() is None
    order = []

    async def wait(i):
        got = await pool.acquire()
        order.append(i)
        pool.release(got, 0)

    tasks = [asyncio.create_task(wait(i)) for i in range(3)]
    await asyncio.sleep(0.01)
    pool.release(ctx, 1000)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]
    assert pool.in_use == 0


async def test_breaker_opens_fails_fast_then_half_opens_and_closes():
    pool = HandlerPool(Ctx, 1, wait_timeout=0.02, trip_after=2, cooldown=0.2)
    held = pool.try_acquire()
    for _ in range(2):
        with pytest.raises(PoolExhausted):
            await pool.acquire()
    assert pool.statistics().breaker == "open"
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(PoolExhausted) as info:
        await pool.acquire()
    assert loop.time() - start < 0.015  # failed fast, no wait
    assert info.value.retry_after >= 1
    await asyncio.sleep(0.25)
    probe = asyncio.create_task(pool.acquire())  # half-open: this one may wait
    await asyncio.sleep(0.005)
    assert pool.statistics().breaker == "half-open"
    pool.release(held, 0)
    assert await probe is held
    assert pool.statistics().breaker == "closed"
    assert pool.statistics().exhausted == 3


async def test_failed_probe_reopens_with_longer_cooldown():
    pool = HandlerPool(Ctx, 1, wait_timeout=0.02, trip_after=1, cooldown=0.05)
    pool.try_acquire()
    with pytest.raises(PoolExhausted):
        await pool.acquire()
    await asyncio.sleep(0.06)
    with pytest.raises(PoolExhausted):
        await pool.acquire()  # the probe times out
    assert pool._cooldown == pytest.approx(0.1)


def test_discard_replaces_the_context():
    pool = HandlerPool(Ctx, 2)
    ctx = pool.try_acquire()
    pool.discard(ctx)
    assert ctx.closed
    assert pool.in_use == 0
    assert pool.statistics().discarded == 1
    assert ctx not in pool._free


def test_metrics_line_format():
    pool = HandlerPool(Ctx, 8)
    a, b = pool.try_acquire(), pool.try_acquire()
    pool.release(a, 120_000)
    pool.release(b, 500_000)
    pool.try_acquire()
    pool.try_acquire()
    assert pool.metrics_line() == ("Pool metrics: in_use=2/8 exhausted=0 avg_wait_us=0 "
                                   "max_wait_us=0 avg_exec_us=310 max_exec_us=500")


def test_metrics_endpoint_sums_workers(tmp_path, monkeypatch):
    import os

    import orjson

    from hyphal.http import Server, ServerConfig, python_handler
    from hyphal.http._metrics import MetricsEndpoint

    monkeypatch.setenv("HYPHAL_METRICS_DIR", str(tmp_path))
    other = {"size": 8, "in_use": 1, "waiting": 0, "requests": 40, "exhausted": 2,
             "discarded": 0, "wait_seconds_total": 0.5, "wait_seconds_max": 0.25,
             "exec_seconds_total": 1.0, "exec_seconds_max": 0.5, "workers": 1}
    (tmp_path / f"{os.getppid()}.json").write_bytes(orjson.dumps(other))
    (tmp_path / "999999999.json").write_bytes(orjson.dumps(other))  # a dead worker: ignored
    server = Server(ServerConfig(port=0, pool_size=4), python_handler(lambda r: None))
    text = MetricsEndpoint(server).response().body.decode()
    assert "hyphal_http_pool_size 12.0" in text
    assert "hyphal_http_pool_requests_total 40.0" in text
    assert "hyphal_http_pool_exhausted_total 2.0" in text
    assert "hyphal_http_workers 2.0" in text
    assert "hyphal_http_pool_wait_seconds_max 0.25" in text
