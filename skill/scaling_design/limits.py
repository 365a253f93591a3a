"""The bounds of one call: its deadline, and the caps checked before anything is allocated.

A tool call runs inside ``call_deadline(seconds)``; every stage reads what is left of it
(``remaining()``) to size its own loops, and long loops call ``check(stage)``, which refuses
the call once the deadline has passed or the caller has gone (``Deadline.cancel()``, set by the
server when a client cancels or disconnects). A deadline is a ContextVar, so it follows the
call onto the worker thread that runs it and stays out of every other call.

A stage that reaches no check in time (a fit of 100,000 runs, a greedy selection over 20,000
candidates) is stopped by ``enforced``: GRACE_S past the deadline, or at once on cancel, it
raises ``Interrupted`` in the call's own thread (CPython's PyThreadState_SetAsyncExc), so the
stage unwinds at its next bytecode, its ``finally`` blocks run, and the call ends with a refusal
naming time_limit_s instead of running on and competing with every later call.

Caps are computed with Python integers or logarithms, never with fixed-width products that
wrap around (``np.prod`` of 16 levels of 16 factors is 0 in int64).
"""
from __future__ import annotations

import ctypes
import math
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import InputError

__all__ = ["DEFAULT_TIME_LIMIT_S", "MAX_TIME_LIMIT_S", "MAX_FIT_RUNS", "GRACE_S", "Deadline", "Interrupted",
           "call_deadline", "enforced", "current", "remaining", "check", "product_capped", "check_cap"]

DEFAULT_TIME_LIMIT_S = 120.0
MAX_TIME_LIMIT_S = 3600.0
MAX_FIT_RUNS = 100_000  # runs a fit accepts (a 100,000-run fit takes seconds, not minutes)
GRACE_S = 0.4  # how long past its deadline a stage may take to return what it has before it is stopped
RETRY_S = 0.2  # how soon an interrupt is raised again while the call still runs


class Interrupted(BaseException):
    """Raised inside a call's thread when it ran past its deadline or was cancelled (a BaseException,
    so a step's ``except Exception`` does not swallow it)."""


class Deadline:
    """A point in monotonic time after which a call stops, plus a cancel flag."""

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self.at = time.monotonic() + self.seconds
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._thread: int | None = None  # the thread ``enforced`` may interrupt, while it runs the call
        self._retry: threading.Timer | None = None

    def cancel(self) -> None:
        self._cancelled.set()
        self.interrupt()

    def interrupt(self) -> None:
        """Raise Interrupted in the enforced thread while it still runs the call, again every RETRY_S: an
        asynchronous exception that lands in a weakref callback or a __del__ is swallowed there, and the
        call would run on."""
        with self._lock:
            if self._thread is not None:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread), ctypes.py_object(Interrupted))
                self._retry = threading.Timer(RETRY_S, self.interrupt)
                self._retry.daemon = True
                self._retry.start()

    def _release(self, thread: int, timer: threading.Timer) -> None:
        """The block is done: no interrupt from now on, and none left pending in its thread."""
        timer.cancel()
        with self._lock:
            if self._thread == thread:
                self._thread = None
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), None)  # NULL clears a pending one
            if self._retry is not None:
                self._retry.cancel()

    def refusal(self, stage: str) -> InputError:
        if self.cancelled:
            return InputError("time_limit_s", f"the call was cancelled by the client during {stage}")
        return InputError("time_limit_s", f"time_limit_s = {self.seconds:g} s ran out during {stage}; raise "
                                          "time_limit_s or ask for less work (fewer runs, replicates or simulations)")

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def remaining(self) -> float:
        return 0.0 if self.cancelled else max(self.at - time.monotonic(), 0.0)

    def check(self, stage: str) -> None:
        if self.cancelled or time.monotonic() > self.at:
            raise self.refusal(stage)


_CURRENT: ContextVar[Deadline | None] = ContextVar("scaling_design_deadline", default=None)


@contextmanager
def call_deadline(deadline: Deadline | float | None) -> Iterator[Deadline | None]:
    """Run the block under a deadline (seconds from now, or a Deadline the caller keeps to cancel)."""
    if deadline is not None and not isinstance(deadline, Deadline):
        deadline = Deadline(deadline)
    token = _CURRENT.set(deadline)
    try:
        yield deadline
    finally:
        _CURRENT.reset(token)


@contextmanager
def enforced(deadline: Deadline, stage: str) -> Iterator[Deadline]:
    """Run the block in this thread under a hard stop: GRACE_S past the deadline (or on cancel) the
    block is interrupted and the call refused as InputError on time_limit_s."""
    thread = threading.get_ident()
    with deadline._lock:
        deadline._thread = thread
    timer = threading.Timer(deadline.remaining() + GRACE_S, deadline.interrupt)
    timer.daemon = True
    timer.start()
    try:
        try:
            if deadline.cancelled:
                raise Interrupted
            yield deadline
        finally:
            while True:  # an interrupt landing inside the release must not skip it
                try:
                    deadline._release(thread, timer)
                    break
                except Interrupted:
                    continue
    except Interrupted:
        raise deadline.refusal(stage) from None


def current() -> Deadline | None:
    return _CURRENT.get()


def remaining(default: float = math.inf) -> float:
    """Seconds left to the current call (``default`` outside any call)."""
    deadline = _CURRENT.get()
    return default if deadline is None else deadline.remaining()


def check(stage: str) -> None:
    """Refuse the call (InputError on time_limit_s) once its deadline passed or it was cancelled."""
    deadline = _CURRENT.get()
    if deadline is not None:
        deadline.check(stage)


def product_capped(sizes: Iterable[int], cap: int) -> int:
    """The product of sizes in exact integers, stopping at cap + 1 (so a huge product costs nothing)."""
    total = 1
    for size in sizes:
        total *= max(int(size), 0)
        if total > cap:
            return cap + 1
    return total


def check_cap(field: str, count: int, cap: int, what: str, fix: str, cap_name: str = "") -> None:
    """Refuse a request over a cap before anything is built, naming the cap and the field to change."""
    if count > cap:
        shown = f"more than {cap:,}" if count == cap + 1 else f"{count:,}"
        named = f" ({cap_name})" if cap_name else ""
        raise InputError(field, f"{what} would be {shown}, over the cap of {cap:,}{named}; {fix}")
