"""The Optuna storage: opening it, its URL, and its URL with the password redacted.

A storage is a URL or a SQLite file path; :func:`open_storage` turns on heartbeats and
retries of stale trials, and messages name a storage by :func:`redact` so that no
password reaches a log.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from rewarddesign.common.checks import check_int
from rewarddesign.errors import ParameterError, StorageError

DEFAULT_STORAGE = "runs/tune.sqlite"


def open_storage(
    storage: str | None = None, heartbeat: int = 60, grace: int | None = None, retries: int = 2
) -> RDBStorage:
    """An Optuna RDB storage with heartbeats and retries of stale trials.

    Args:
        storage: A file path (SQLite), ``sqlite:///...`` or ``postgresql://...``; None
            is ``runs/tune.sqlite``.
        heartbeat: Seconds between a running trial's heartbeats.
        grace: Seconds without a heartbeat before a trial is failed (default 2 x heartbeat).
        retries: Times a failed (stale) trial is retried.

    Raises:
        StorageError: The URL is malformed, its driver is missing or the server cannot be
            reached.
    """
    check_failure_handling(heartbeat, grace, retries)
    url = storage_url(storage)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if path.is_dir():
            raise StorageError(
                f"the Optuna storage {str(path)!r} is a folder; give a SQLite file in it, "
                f"e.g. {str(path / 'tune.sqlite')!r}."
            )
        if any(p.exists() and not p.is_dir() for p in path.parents):
            raise StorageError(
                f"cannot create the Optuna storage {str(path)!r}: a parent of it is a file."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
    engine: dict[str, Any] = {}
    if url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401  (SQLAlchemy 2.1's driver for postgresql://)
        except ImportError:
            raise StorageError(
                "a postgresql:// storage needs the PostgreSQL driver: "
                'pip install "rewarddesign[distributed]".'
            ) from None
        engine = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    for attempt in range(1, 4):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.8
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(
                    url,
                    engine_kwargs=engine,
                    heartbeat_interval=heartbeat,
                    grace_period=grace or 2 * heartbeat,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                        max_retry=retries
                    ),
                )
        except Exception as exc:  # SQLAlchemy's errors differ by driver: all "cannot open"
            # workers that start together on an empty database race to create its
            # tables; the losers find them on their next try (PostgreSQL says so with an
            # IntegrityError or ProgrammingError, SQLite with "table ... already exists")
            racing = isinstance(
                exc, sqlalchemy.exc.IntegrityError | sqlalchemy.exc.ProgrammingError
            ) or (isinstance(exc, sqlalchemy.exc.OperationalError) and "already exists" in str(exc))
            if racing and attempt < 3:
                time.sleep(attempt)
                continue
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StorageError(
                f"cannot open the Optuna storage {redact(url)!r}: {first}. Check the URL, "
                f"that the server runs and is reachable from here, and the credentials."
            ) from None
    raise StorageError(f"cannot open the Optuna storage {redact(url)!r}.")  # not reached


def check_failure_handling(heartbeat: int, grace: int | None, retries: int) -> None:
    """Check the heartbeat, grace period and retries of :func:`open_storage`.

    Raises:
        ParameterError: Unless heartbeat >= 1 s, grace (if given) > heartbeat and
            retries >= 0, all integers.
    """
    check_int(heartbeat, "heartbeat (seconds)", 1)
    check_int(retries, "retries", 0)
    if grace is not None and check_int(grace, "grace (seconds)", 1) <= heartbeat:
        raise ParameterError(
            f"grace must be more seconds than the heartbeat ({heartbeat}), got {grace}: a "
            f"live worker's trial would be failed between two heartbeats."
        )


def storage_url(storage: str | Path | None = None) -> str:
    """The storage's URL: a file path becomes ``sqlite:///ABSOLUTE_PATH`` (None:
    ``runs/tune.sqlite``); the form ``optuna-dashboard URL`` takes."""
    if storage is not None and not isinstance(storage, str | Path):
        raise ParameterError(
            f"storage must be a URL or a SQLite file path, got {type(storage).__name__} "
            f"{storage!r}."
        )
    url = str(storage or DEFAULT_STORAGE)
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def redact(url: str) -> str:
    """The URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


__all__ = ["DEFAULT_STORAGE", "check_failure_handling", "open_storage", "redact", "storage_url"]
