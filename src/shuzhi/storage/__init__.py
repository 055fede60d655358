"""Where dataset version files and ingest staging areas live: the version store interface.

A version is written once, by `put`, from a finished file in a staging area, and never changed
afterwards; it is known to the rest of the system by its key (stored as `DatasetVersion.path`).
Nothing outside this package builds a version's location: readers ask the store for a local
`path` (the engine, the classifier, integrity checks) or `open` it, ingest asks for a
`staging` area and `put`s its result, the sweeps ask the store what is left over. The local-disk
store is the only one today; an object store (S3) plugs in here, chosen by the `storage` setting.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

if TYPE_CHECKING:
    from shuzhi.config import Settings


@runtime_checkable
class StagingArea(Protocol):
    """One writer's private work area; closing it removes it and everything in it."""

    token: str
    dir: Path

    def path(self, name: str) -> Path: ...

    def close(self) -> None: ...

    def __enter__(self) -> StagingArea: ...

    def __exit__(self, *exc) -> None: ...


@runtime_checkable
class VersionStore(Protocol):
    """Immutable version files, by key, and the staging areas they are made in."""

    def folders(self) -> tuple[Path, ...]:
        """Local folders the store writes into (at least its staging): start-up checks them."""
        ...

    def staging(self) -> StagingArea:
        """A new private work area, held (locked) until closed: a sweep never takes it."""
        ...

    def sweep_staging(self) -> list[str]:
        """Remove staging areas whose writer died; returns their tokens."""
        ...

    def put(self, source: Path, dataset_id: int, number: int) -> str:
        """Make the finished file `source` version `number` of the dataset, atomically: either the
        whole file is visible under the returned key, or (on any failure) nothing is."""
        ...

    def put_release(self, source: Path, dataset_id: int, sha256: str) -> str:
        """Place the finished file `source`, a de-identified release of the dataset, under a key named
        by its content hash, atomically (the same content lands on the same key)."""
        ...

    def open(self, key: str) -> BinaryIO:
        """The version's bytes, for reading."""
        ...

    def path(self, key: str) -> Path:
        """A local file with the version's bytes, for the engine and the scanners."""
        ...

    def delete(self, key: str) -> None:
        """Remove a version file (missing is fine)."""
        ...

    def dataset_ids(self) -> list[int]:
        """Datasets with any file in the store."""
        ...

    def sweep_orphans(
        self, dataset_id: int, referenced: Callable[[], Collection[str]], *, min_age_s: float = 0.0
    ) -> list[str]:
        """Delete files of a dataset whose key `referenced()` does not name, once `min_age_s` old and
        not held by a live writer (who has put it and not yet committed); returns their keys."""
        ...


STORES = ("local",)


def version_store(settings: Settings) -> VersionStore:
    """The store the `storage` setting names."""
    if settings.storage == "local":
        from shuzhi.storage.local import LocalVersionStore

        return LocalVersionStore(settings.data_dir, settings.versions_dir, settings.staging_dir)
    raise ValueError(f"unknown storage {settings.storage!r}")  # the setting's type refuses it first
