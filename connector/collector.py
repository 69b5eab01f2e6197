"""Python's cyclic garbage collector set for a loop whose rows live for seconds.

CPython runs a full collection once the objects promoted to its oldest generation since
the last one reach a quarter of those that survived it, and at most every 10 collections
of the middle one. Every buffered row (its Row, queue entry and spool place) lives until
its batch is cut, so every one is promoted. On a 1M-record drain that meant 66 full
collections of 40 to 90 ms each, 5.5 of the process's 63 CPU seconds, holding the GIL
while they ran; together they freed about 600 objects, because the pipeline makes almost
no reference cycles. Waiting for 1,000 middle collections instead (about 7 million net
allocations, a minute or more of a busy drain) keeps those cycles collected, later.
Young garbage is collected as before: the two younger generations keep their thresholds.
"""

from __future__ import annotations

import gc

_OLDEST_AFTER = 1_000


def tune() -> str:
    """Space out full collections; returns the thresholds, for the startup log."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, _OLDEST_AFTER)
    return f"gc thresholds {young},{middle},{_OLDEST_AFTER}"
