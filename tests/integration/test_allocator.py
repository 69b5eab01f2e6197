"""glibc's allocator, tuned at start: freed megabyte buffers go back to the system."""

from __future__ import annotations

import subprocess
import sys

from connector import allocator

# A job thread's pattern: megabyte buffers made and freed while a small object made after
# them lives on. Prints how many MiB of the freed buffers stay resident.
_PROBE = """
import os, sys, threading
from connector import allocator
if sys.argv[1] == "tuned":
    assert allocator.tune({}), "glibc's mallopt refused"
PAGE = os.sysconf("SC_PAGE_SIZE")

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE

kept, held = [], []

def work():
    block = bytearray(4 * 2**20)
    del block  # a freed mmapped block: glibc's default raises its threshold past 4 MiB
    before = rss()
    blocks = [bytearray(2**20) for _ in range(64)]
    kept.append(bytearray(1_000))
    del blocks
    held.append(rss() - before)

thread = threading.Thread(target=work)
thread.start()
thread.join()
print(held[0] // 2**20)
"""


def _resident_after_free(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_freed_megabyte_buffers_stay_resident_only_without_the_tuning() -> None:
    """64 MiB freed in a thread: glibc's defaults keep it; tuned, it is given back."""
    assert _resident_after_free("plain") >= 48
    assert _resident_after_free("tuned") <= 4


def test_an_operators_own_settings_win() -> None:
    """MALLOC_ARENA_MAX in the environment: only the threshold is set."""
    assert allocator.tune({"MALLOC_ARENA_MAX": "8"}) == ["MALLOC_MMAP_THRESHOLD_=131072"]
    assert allocator.tune({"MALLOC_ARENA_MAX": "8", "MALLOC_MMAP_THRESHOLD_": "65536"}) == []
