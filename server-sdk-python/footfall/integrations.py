"""Recipes for hosts that end work in their own ways: Celery tasks, gunicorn workers, serverless calls."""

from __future__ import annotations

import functools

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, TypeVar

    from footfall._client import Client

    F = TypeVar("F", bound=Callable[..., Any])


def celery(client: Client, *, timeout_s: float = 5.0) -> None:
    """Flush after every task (a prefork worker may be recycled before the timer fires) and shut the
    client down with the worker process."""
    from celery import signals

    def flush(*args: Any, **kwargs: Any) -> None:
        client.flush(timeout_s)

    def shutdown(*args: Any, **kwargs: Any) -> None:
        client.shutdown(timeout_s)

    signals.task_postrun.connect(flush, weak=False)
    signals.worker_process_shutdown.connect(shutdown, weak=False)


def gunicorn_worker_exit(client: Client, *, timeout_s: float = 5.0) -> Callable[[Any, Any], None]:
    """`worker_exit = footfall.integrations.gunicorn_worker_exit(client)` in gunicorn.conf.py."""

    def worker_exit(server: Any, worker: Any) -> None:
        client.shutdown(timeout_s)

    return worker_exit


def flush_after(client: Client, *, timeout_s: float = 5.0) -> Callable[[F], F]:
    """Decorate a serverless handler: its events are sent before the platform freezes the process."""

    def decorate(handler: F) -> F:
        @functools.wraps(handler)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            finally:
                client.flush(timeout_s)

        return wrapped  # type: ignore[return-value]

    return decorate
