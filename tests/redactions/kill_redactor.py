"""A redaction worker that SIGKILLs itself at one step of a redaction (tests/redactions/
test_crash.py).

Settings come from the environment, like ``callvault worker``. ``CALLVAULT_KILL_WHEN`` names the
step after which it dies: ``written`` (the new audio and its staged key exist, the call still
names the old ones), ``keys-swapped`` (the key store swapped the keys in, the calls database did
not commit), ``swapped`` (both committed; the old audio not yet deleted) or ``old-deleted`` (the
old audio deleted; the redaction not yet marked Redacted).
"""

from __future__ import annotations

import os
import signal

from callvault.redactions.loop import RedactionLoop, RedactionOptions
from callvault.runtime import Runtime
from callvault.settings import Settings


def main() -> None:
    when = os.environ["CALLVAULT_KILL_WHEN"]
    runtime = Runtime.open(Settings())
    loop = RedactionLoop(runtime, RedactionOptions(lease_seconds=0.5))

    def die_at(step: str) -> None:
        if step == when:
            os.kill(os.getpid(), signal.SIGKILL)

    loop.redactor.after_step = die_at
    loop.step()
    raise SystemExit("the worker was expected to die inside its redaction")


if __name__ == "__main__":
    main()
