"""Extracting the next page while this one is compared: the streaming walk's second core.

A page's extraction (rendering both revisions, writing their PNGs, reading their text layers) needs
nothing from the page before it, and a page's diff and summary need nothing from the page after it.
So, in streaming order, a thread extracts page N+1 while the walk's own thread diffs and summarises
page N: OpenCV, PNG encoding and MuPDF's rendering release the GIL, so on two cores the two run side
by side. Each page still goes extract → diff → summary, and is committed stage by stage as before.

The lead is bounded (`depth` pages beyond the one being compared, default 1), so at most two pages'
pictures are in memory. Only the extracting thread touches the PDF documents while this runs (PyMuPDF
objects must not be used from two threads at once): it also reads the words the diff and the summary
need, and the pictures of pages extracted by an earlier run.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable, Generic, Iterable, Iterator, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class PagesAhead(Generic[Item, Result]):
    """Iterate (item, prepare(item)) in order, preparing up to `depth` items ahead on a thread.

    An exception raised by `prepare` is raised again by the iteration, at that item."""

    def __init__(self, prepare: Callable[[Item], Result], items: Iterable[Item], depth: int = 1,
                 *, hold_first: bool = False):
        """hold_first: prepare nothing beyond the first item until `widen()` (the first item then has
        both cores to itself)."""
        self._prepare = prepare
        self._items = list(items)
        self._depth = depth
        self._held = hold_first
        self._slots = threading.Semaphore(1 if hold_first else depth + 1)  # the item in hand + `depth` ahead
        self._ready: deque[tuple[Item, Result | None, BaseException | None]] = deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drawings-pages-ahead", daemon=True)

    def __enter__(self) -> "PagesAhead[Item, Result]":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._slots.release()  # wake the thread if it waits for a slot
        self._thread.join()

    def widen(self) -> None:
        """Start preparing ahead (after `hold_first`); harmless when already widened."""
        if self._held:
            self._held = False
            self._slots.release(self._depth)

    def __iter__(self) -> Iterator[tuple[Item, Result]]:
        for _ in self._items:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._ready))
                item, result, error = self._ready.popleft()
            if error is not None:
                raise error
            try:
                yield item, result  # type: ignore[misc]
            finally:
                self._slots.release()  # this page is done with: the thread may prepare one more

    def _run(self) -> None:
        for item in self._items:
            self._slots.acquire()
            if self._stop.is_set():
                return
            try:
                entry = (item, self._prepare(item), None)
            except BaseException as exc:  # handed to the iterating thread
                entry = (item, None, exc)
            with self._cond:
                self._ready.append(entry)
                self._cond.notify_all()
            if entry[2] is not None:
                return
