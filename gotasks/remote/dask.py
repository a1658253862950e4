"""The one place gotasks touches Dask distributed's client API, with types: distributed has
none mypy can check, so everything else talks to these few calls. Imported only by a run
that uses a cluster (`import distributed` costs ~1 s)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gotasks.core.errors import UsageError

INSTALL_HINT = "pip install 'gotasks[cluster]'"
ASK_SECONDS = 30.0  # for the scheduler or a worker to say what it knows of a task


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError(
            f"--cluster needs Dask distributed, which is not installed: {INSTALL_HINT}"
        ) from None
    return distributed


@dataclass(frozen=True)
class WorkerInfo:
    address: str
    name: str
    cpus: float  # its CPU resource, else its threads
    memory: int  # its MEM resource, else its memory limit (0: unknown)
    declares: bool  # it was started with CPU and MEM resources (Dask then enforces them)
    threads: int


class Remote:
    """A connected client."""

    def __init__(self, address: str, timeout: float) -> None:
        distributed = _distributed()
        try:
            self._client = distributed.Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise UsageError(f"--cluster {address}: cannot reach the scheduler ({error})") from None
        self._distributed = distributed
        # The probes run on a scheduler that may not have gotasks: sent by value.
        import cloudpickle

        from gotasks.remote import probe

        cloudpickle.register_pickle_by_value(probe)

    def workers(self) -> list[WorkerInfo]:
        found = []
        info = self._client.scheduler_info(n_workers=-1)
        for address, worker in sorted(info.get("workers", {}).items()):
            resources = worker.get("resources") or {}
            declares = "CPU" in resources and "MEM" in resources
            found.append(
                WorkerInfo(
                    address=address,
                    name=str(worker.get("name", address)),
                    cpus=float(resources.get("CPU", worker.get("nthreads", 1))),
                    memory=int(resources.get("MEM", worker.get("memory_limit") or 0)),
                    declares=declares,
                    threads=int(worker.get("nthreads", 1)),
                )
            )
        return found

    def run_everywhere(self, function: Callable[..., Any], *args: Any) -> dict[str, Any]:
        """function(*args) on every worker, now (outside the task queue): address -> answer."""
        answers: dict[str, Any] = self._client.run(function, *args, on_error="return")
        return answers

    def submit(
        self,
        function: Callable[..., Any],
        *args: Any,
        key: str,
        worker: str,
        resources: dict[str, float] | None,
    ) -> Any:
        """Pinned to `worker`, free to move when it dies; never deduplicated."""
        return self._client.submit(
            function,
            *args,
            key=key,
            workers=[worker],
            allow_other_workers=True,
            resources=resources,
            pure=False,
        )

    def result(self, future: Any, timeout: float) -> Any:
        """The future's result; TimeoutError if it has none within `timeout` seconds."""
        return future.result(timeout=timeout)

    def scheduler_view(self, key: str) -> dict[str, Any] | None:
        """What the scheduler knows of the task (probe.scheduler_view), within ASK_SECONDS."""
        from gotasks.remote import probe

        answer: dict[str, Any] | None = self._client.sync(
            self._client._run_on_scheduler,
            probe.scheduler_view,
            key,
            callback_timeout=ASK_SECONDS,
        )
        return answer

    def worker_view(self, address: str, key: str) -> dict[str, Any] | None:
        """What the worker knows of the task (probe.worker_view); None: it did not answer."""
        from gotasks.remote import probe

        try:
            answers = self._client.sync(
                self._client._run,
                probe.worker_view,
                key,
                workers=[address],
                on_error="return",
                callback_timeout=ASK_SECONDS,
            )
        except (OSError, TimeoutError):
            return None
        answer = answers.get(address)
        return answer if isinstance(answer, dict) else None

    def cancel(self, futures: list[Any]) -> None:
        self._client.cancel(futures, force=True)

    def is_cancelled(self, error: BaseException) -> bool:
        return isinstance(error, self._distributed.client.FutureCancelledError) or (
            type(error).__name__ in ("CancelledError", "FutureCancelledError")
        )

    def subscribe(self, topic: str, handler: Callable[[Any], None]) -> None:
        self._client.subscribe_topic(topic, handler)

    def close(self) -> None:
        self._client.close(timeout=5)
