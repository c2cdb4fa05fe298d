"""A purge worker that SIGKILLs itself inside its erasure (tests/purge/test_governance.py).

Settings come from the environment, like ``callvault worker``. ``CALLVAULT_KILL_WHEN`` says where:
``before-destroy`` (after the hold check, before the key store deletes the keys) or
``after-destroy`` (the key store committed, the calls-database transaction did not).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable

from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.runtime import Runtime
from callvault.settings import Settings


def main() -> None:
    when = os.environ["CALLVAULT_KILL_WHEN"]
    runtime = Runtime.open(Settings())
    real_destroy = runtime.keystore.destroy

    def destroy_then_die(call_ids: Iterable[str]) -> int:
        if when == "before-destroy":
            os.kill(os.getpid(), signal.SIGKILL)
        destroyed = real_destroy(call_ids)
        os.kill(os.getpid(), signal.SIGKILL)
        return destroyed

    runtime.keystore.destroy = destroy_then_die  # type: ignore[method-assign]
    ErasureLoop(runtime, ErasureOptions(lease_seconds=1)).run_once()
    raise SystemExit("the worker was expected to die inside its erasure")


if __name__ == "__main__":
    main()
