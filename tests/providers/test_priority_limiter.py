"""The priority limiter on a hand-driven clock: HIGH calls before waiting LOW ones, exact spacing,
LOW calls that give way unsent, and one provider's limiter shared through the policy."""

from __future__ import annotations

import asyncio

import pytest

from viralspot_tui.core.models.queue import Priority
from viralspot_tui.core.providers.policy import OutboundPolicy
from viralspot_tui.core.providers.priority import Preempted, PriorityLimiter, call_priority

INTERVAL = 0.1


class ManualTicker:
    """Time moves only when the test says so; a sleeper wakes once its time has come."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [s for s in self._sleepers if s[0] <= self.now + 1e-12]
        self._sleepers = [s for s in self._sleepers if s not in due]
        for _, future in due:
            if not future.done():
                future.set_result(None)
        await settle()


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


class Calls:
    """Tasks that each acquire one slot as some priority; the order and time of their grants."""

    def __init__(self, limiter: PriorityLimiter, ticker: ManualTicker) -> None:
        self.limiter, self.ticker = limiter, ticker
        self.granted: list[tuple[str, float]] = []
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, label: str, priority: Priority, yields=None) -> None:
        async def call() -> None:
            with call_priority(priority, yields=yields):
                await self.limiter.acquire()
            self.granted.append((label, self.ticker.time()))

        self.tasks[label] = asyncio.create_task(call())

    def order(self) -> list[str]:
        return [label for label, _ in self.granted]


@pytest.fixture
def ticker() -> ManualTicker:
    return ManualTicker()


@pytest.fixture
def limiter(ticker: ManualTicker) -> PriorityLimiter:
    return PriorityLimiter(INTERVAL, ticker=ticker)


async def test_high_calls_are_served_before_every_waiting_low_call(limiter, ticker):
    calls = Calls(limiter, ticker)
    for i in range(6):  # saturate: the first is served at once, five wait
        calls.start(f"low{i}", Priority.LOW)
    await settle()
    await ticker.advance(INTERVAL)
    assert calls.order() == ["low0", "low1"]
    calls.start("high0", Priority.HIGH)
    await settle()
    for i in range(3):  # LOW calls queued after the first HIGH one arrived
        calls.start(f"late{i}", Priority.LOW)
    calls.start("high1", Priority.HIGH)
    await settle()
    while len(calls.granted) < 11:
        await ticker.advance(INTERVAL)
    # HIGH first (in arrival order), then every LOW call in arrival order, whenever it came
    assert calls.order() == [
        "low0",
        "low1",
        "high0",
        "high1",
        "low2",
        "low3",
        "low4",
        "low5",
        "late0",
        "late1",
        "late2",
    ]
    times = [t for _, t in calls.granted]
    assert all(b - a == pytest.approx(INTERVAL) for a, b in zip(times, times[1:]))
    assert limiter.granted == {Priority.HIGH: 2, Priority.LOW: 9}


async def test_a_high_call_arriving_during_the_wait_takes_the_next_slot(limiter, ticker):
    calls = Calls(limiter, ticker)
    for i in range(3):
        calls.start(f"low{i}", Priority.LOW)
    await settle()
    await ticker.advance(INTERVAL / 2)  # the dispatcher is half way to the next slot
    calls.start("high", Priority.HIGH)
    await settle()
    await ticker.advance(INTERVAL / 2)
    assert calls.order() == ["low0", "high"]


async def test_no_burst_after_idle_time(limiter, ticker):
    calls = Calls(limiter, ticker)
    calls.start("a", Priority.LOW)
    await settle()
    await ticker.advance(5.0)  # idle: a bucket of size one does not fill up
    calls.start("b", Priority.LOW)
    calls.start("c", Priority.LOW)
    await settle()
    assert calls.order() == ["a", "b"]
    await ticker.advance(INTERVAL)
    assert calls.order() == ["a", "b", "c"]


async def test_a_cancelled_waiter_does_not_use_a_slot(limiter, ticker):
    calls = Calls(limiter, ticker)
    for label in ("a", "b", "c"):
        calls.start(label, Priority.LOW)
    await settle()
    calls.tasks["b"].cancel()
    await settle()
    await ticker.advance(INTERVAL)
    assert calls.order() == ["a", "c"]


async def test_low_calls_that_may_yield_give_way_unsent(limiter, ticker):
    holding = False
    calls = Calls(limiter, ticker)
    calls.start("first", Priority.LOW)
    calls.start("pausable", Priority.LOW, yields=lambda: holding)
    calls.start("crawler", Priority.LOW)  # LOW but not pausable: it waits its turn
    await settle()
    holding = True
    assert limiter.preempt() == 1
    await settle()
    with pytest.raises(Preempted):
        await calls.tasks["pausable"]
    with pytest.raises(Preempted):  # and a new pausable call gives way at once
        with call_priority(Priority.LOW, yields=lambda: holding):
            await limiter.acquire()
    await ticker.advance(INTERVAL)
    assert calls.order() == ["first", "crawler"]
    assert limiter.preempted == 2


async def test_share_divides_the_rate(limiter, ticker):
    limiter.share = 2
    calls = Calls(limiter, ticker)
    for label in ("a", "b"):
        calls.start(label, Priority.LOW)
    await settle()
    await ticker.advance(INTERVAL)
    assert calls.order() == ["a"]
    await ticker.advance(INTERVAL)
    assert calls.order() == ["a", "b"]


async def test_the_policy_passes_the_callers_priority_to_its_limiter(ticker):
    policy = OutboundPolicy("instagram", requests_per_second=10, ticker=ticker)
    sent: list[str] = []

    async def request(label: str, priority: Priority) -> None:
        async def attempt() -> None:
            sent.append(label)

        with call_priority(priority):
            await policy.run("profile", attempt)

    tasks = [asyncio.create_task(request(f"low{i}", Priority.LOW)) for i in range(3)]
    await settle()
    tasks.append(asyncio.create_task(request("high", Priority.HIGH)))
    await settle()
    while len(sent) < 4:
        await ticker.advance(policy.interval)
    await asyncio.gather(*tasks)
    assert sent == ["low0", "high", "low1", "low2"]
    assert policy.state.calls_sent == 4
