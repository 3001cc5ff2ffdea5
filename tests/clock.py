"""The test suite's clock: every test runs at one fixed instant unless it asks for another.

A Thursday morning in term time, when roll call, billing and the portal all have work to do.
``tests/conftest.py`` freezes time there for every test (the clock still ticks from it, so
timeouts and polling work); ``time_machine.travel`` inside a test moves it elsewhere. Nothing in
the suite reads the machine's clock: CI runs it under libfaketime at 22:30 and on New Year's Eve
to prove it.
"""

import os
import time
from datetime import datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=BEIJING)
TODAY = NOW.date()


def stamp_with_test_clock(storage, folder):
    """Give the files in a storage folder the test clock's time as their modification time.

    The file system stamps a file with the machine's real time, which the frozen clock of the
    suite disagrees with; a task that compares a file's age with "now" must see the two agree,
    as they do in production.
    """
    now = time.time()  # the frozen clock (time-machine patches time.time)
    for name in storage.listdir(folder)[1]:
        os.utime(storage.path(f"{folder}/{name}"), (now, now))
