"""Storage SCP: stream each instance to disk, make it durable, index it, then answer."""

from __future__ import annotations

import errno
import itertools
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from appliance.config.schema import DuplicatePolicy, MismatchPolicy, StorageSection
from appliance.dicom import command as cmd
from appliance.dicom.command import CommandField, Status
from appliance.dicom.negotiation import AcceptedContext
from appliance.dicom.services import Peer, Reply
from appliance.storage.header import DatasetSource, HeaderError, InstanceHeader, read_header
from appliance.storage.index import Index, NewInstance
from appliance.storage.layout import DataLayout
from appliance.storage.uids import InvalidUID, check_uid
from appliance.storage.writer import Linker, PartTenWriter, file_meta_bytes

log = logging.getLogger(__name__)

SQLITE_FULL = 13  # "database or disk is full"
HEADER_PREFIX = 64 * 1024  # bytes of each dataset kept in memory: the head almost always fits


class StoreFailure(Exception):
    """A C-STORE that must be answered with a failure or warning status."""

    def __init__(self, status: int, comment: str) -> None:
        super().__init__(comment)
        self.status = status
        self.comment = comment


class ConnectionFactory:
    """One database connection per thread, opened on first use (threads serve associations)."""

    def __init__(self, factory: Callable[[], sqlite3.Connection]) -> None:
        self._factory = factory
        self._local = threading.local()

    def get(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._factory()
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class StoreService:
    """Creates one sink per C-STORE request."""

    def __init__(
        self, storage: StorageSection, layout: DataLayout, pid: int, connect: ConnectionFactory
    ) -> None:
        self.storage = storage
        self.layout = layout
        self.pid = pid
        self.connect = connect
        self._counter = itertools.count(1)
        # Series directories this process has made durable (bounded: cleared when large).
        self.known_dirs: set[Path] = set()
        self.linker = Linker()  # remembers whether linking by descriptor is allowed

    def begin(self, peer: Peer, command: cmd.Command, context: AcceptedContext) -> StoreSink:
        if len(self.known_dirs) > 10000:
            self.known_dirs.clear()
        return StoreSink(self, peer, command, context, next(self._counter))

    def known_duplicate(self, sop_instance_uid: str) -> str | None:
        """Under keep-first a known instance is acknowledged without being written again;
        returns its study."""
        if self.storage.duplicates != DuplicatePolicy.KEEP_FIRST:
            return None
        found = Index(self.connect.get()).find(sop_instance_uid)
        return found[0].study_uid if found else None

    def has_room(self) -> bool:
        reserve = self.storage.reserve_mb * 1024 * 1024
        return shutil.disk_usage(self.layout.root).free > reserve


class StoreSink:
    """One instance on its way in; errors are held until the last fragment has arrived."""

    def __init__(
        self,
        service: StoreService,
        peer: Peer,
        command: cmd.Command,
        context: AcceptedContext,
        number: int,
    ) -> None:
        self.service = service
        self.peer = peer
        self.command = command
        self.context = context
        self.failure: StoreFailure | None = None
        self.duplicate: str | None = None  # the study of a known instance (keep-first)
        self.meta_length = 0
        self.name = f"{service.pid}-{peer.association_id}-{number}"
        self.writer: PartTenWriter | None = None
        self.prefix = bytearray()
        self.dataset_size = 0
        self.sop_class = command.get_str(cmd.AFFECTED_SOP_CLASS)
        self.sop_instance = command.get_str(cmd.AFFECTED_SOP_INSTANCE)
        try:
            check_uid(self.sop_class, "Affected SOP Class UID")
            check_uid(self.sop_instance, "Affected SOP Instance UID")
            if self.sop_class != context.abstract_syntax:
                raise StoreFailure(
                    Status.DATASET_DOES_NOT_MATCH,
                    "Affected SOP Class differs from the presentation context",
                )
            self.duplicate = service.known_duplicate(self.sop_instance)
            if self.duplicate is not None:
                return
            if not service.has_room():
                raise StoreFailure(
                    Status.OUT_OF_RESOURCES, "free disk space is below the configured reserve"
                )
            self.writer = PartTenWriter(
                service.layout.incoming,
                self.name,
                durable=service.storage.fsync,
                linker=service.linker,
            )
            meta = file_meta_bytes(
                self.sop_class, self.sop_instance, context.transfer_syntax, peer.calling_ae
            )
            self.meta_length = len(meta)
            self.writer.write(meta)
        except InvalidUID as exc:
            self._fail(StoreFailure(Status.CANNOT_UNDERSTAND, str(exc)))
        except StoreFailure as exc:
            self._fail(exc)
        except OSError as exc:
            self._fail(_os_failure(exc))

    def _fail(self, failure: StoreFailure) -> None:
        self.failure = failure
        if self.writer is not None:
            self.writer.discard()
            self.writer = None

    def feed(self, data: memoryview) -> None:
        self.dataset_size += len(data)
        if len(self.prefix) < HEADER_PREFIX:
            self.prefix += data[: HEADER_PREFIX - len(self.prefix)]
        if self.writer is None:
            return
        try:
            self.writer.write(data)
        except OSError as exc:
            self._fail(_os_failure(exc))

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.discard()
            self.writer = None

    def complete(self) -> Reply:
        try:
            status, comment = self._store()
        except StoreFailure as exc:
            self._fail(exc)
            status, comment = exc.status, exc.comment
        except OSError as exc:
            failure = _os_failure(exc)
            self._fail(failure)
            status, comment = failure.status, failure.comment
        except sqlite3.Error as exc:
            log.error("index write failed for %s: %s", self.sop_instance, exc)
            if getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL:
                failure = StoreFailure(Status.OUT_OF_RESOURCES, "the disk is full")
            else:
                failure = StoreFailure(Status.PROCESSING_FAILURE, "the index could not be written")
            self._fail(failure)
            status, comment = failure.status, failure.comment
        if status not in (Status.SUCCESS,):
            log.warning(
                "C-STORE %s from %s: status 0x%04X %s",
                self.sop_instance,
                self.peer.calling_ae,
                status,
                comment,
            )
        return Reply(cmd.response(self.command, CommandField.C_STORE_RSP, status, comment=comment))

    def _header(self) -> InstanceHeader:
        """Identify the instance and check the whole dataset is well formed."""
        assert self.writer is not None
        src = DatasetSource(
            bytes(self.prefix), self.dataset_size, self.writer.read_at, self.meta_length
        )
        try:
            return read_header(src, self.context.transfer_syntax, whole=True)
        except HeaderError as exc:
            raise StoreFailure(Status.CANNOT_UNDERSTAND, str(exc)) from None

    def _rewrite_meta(self, sop_class: str) -> None:
        """The file meta must name the dataset's own SOP class (PS3.10), not the command's."""
        old = self.writer
        assert old is not None
        new = PartTenWriter(
            self.service.layout.incoming,
            f"{self.name}-m",
            durable=self.service.storage.fsync,
            linker=self.service.linker,
        )
        try:
            new.write(
                file_meta_bytes(
                    sop_class, self.sop_instance, self.context.transfer_syntax, self.peer.calling_ae
                )
            )
            offset = self.meta_length
            while chunk := old.read_at(offset, 1 << 20):
                new.write(chunk)
                offset += len(chunk)
        except BaseException:
            new.discard()
            raise
        old.discard()
        self.writer = new

    def _store(self) -> tuple[int, str]:
        if self.failure is not None:
            raise self.failure
        if self.duplicate is not None:
            # Still activity on its study: completeness waits for this association too.
            Index(self.service.connect.get()).touch_study(self.duplicate, self.peer.association_id)
            self.peer.studies.add(self.duplicate)
            log.info(
                "duplicate %s from %s acknowledged, first copy kept",
                self.sop_instance,
                self.peer.calling_ae,
            )
            return Status.SUCCESS, ""
        writer = self.writer
        assert writer is not None
        header = self._header()
        for value, what in (
            (header.sop_class_uid, "SOP Class UID (0008,0016)"),
            (header.sop_instance_uid, "SOP Instance UID (0008,0018)"),
            (header.study_uid, "Study Instance UID (0020,000D)"),
            (header.series_uid, "Series Instance UID (0020,000E)"),
        ):
            if not value:
                _missing(what)
            try:
                check_uid(value, what)
            except InvalidUID as exc:
                raise StoreFailure(Status.CANNOT_UNDERSTAND, str(exc)) from None
        if header.sop_instance_uid != self.sop_instance:
            raise StoreFailure(
                Status.CANNOT_UNDERSTAND, "SOP Instance UID in the dataset differs from the command"
            )
        status, comment = Status.SUCCESS, ""
        if header.sop_class_uid != self.sop_class:
            if self.service.storage.sop_class_mismatch == MismatchPolicy.REJECT:
                raise StoreFailure(
                    Status.DATASET_DOES_NOT_MATCH,
                    "SOP Class UID in the dataset differs from the command",
                )
            status, comment = Status.WARNING_SOP_MISMATCH, "SOP Class UID differs from command"
            self._rewrite_meta(header.sop_class_uid)
            writer = self.writer
            assert writer is not None
        writer.finish()
        self._install(header)
        return status, comment

    def _install(self, header: InstanceHeader) -> None:
        service = self.service
        writer = self.writer
        assert writer is not None
        index = Index(service.connect.get())
        policy = service.storage.duplicates
        # keep-first already looked when the command arrived; a race ends at the link below.
        keep_first = policy == DuplicatePolicy.KEEP_FIRST
        existing = [] if keep_first else index.find(header.sop_instance_uid)
        replace_id: int | None = None
        if existing and policy == DuplicatePolicy.KEEP_FIRST:
            log.info(
                "duplicate %s from %s ignored (keep-first)",
                header.sop_instance_uid,
                self.peer.calling_ae,
            )
            writer.discard()
            self.writer = None
            return
        copy = 0
        if existing and policy == DuplicatePolicy.OVERWRITE:
            replace_id = existing[0].id
            final = service.layout.absolute(existing[0].path)
        else:
            copy = len(existing)
            final = service.layout.instance_path(
                header.study_uid, header.series_uid, header.sop_instance_uid, copy
            )
        while True:
            try:
                writer.install(
                    final,
                    service.layout.dicom,
                    replace=replace_id is not None,
                    known_dirs=service.known_dirs,
                )
                break
            except FileExistsError:
                if keep_first:  # another association stored it a moment ago: it wins
                    writer.discard()
                    self.writer = None
                    return
                copy += 1
                final = service.layout.instance_path(
                    header.study_uid, header.series_uid, header.sop_instance_uid, copy
                )
        self.writer = None
        try:
            index.add(
                NewInstance(
                    header,
                    self.context.transfer_syntax,
                    service.layout.relative(final),
                    writer.size,
                    writer.crc,
                    self.peer.calling_ae,
                    self.peer.called_ae,
                    self.peer.association_id,
                ),
                replace_id=replace_id,
                known_series=header.series_uid in self.peer.series,
                linked=header.study_uid in self.peer.studies,
            )
        except sqlite3.Error:
            if replace_id is None:
                os.unlink(final)  # never leave a file the index does not know
            raise
        self.peer.studies.add(header.study_uid)
        self.peer.series.add(header.series_uid)


def _missing(what: str) -> None:
    raise StoreFailure(Status.CANNOT_UNDERSTAND, f"{what} is missing")


def _os_failure(exc: OSError) -> StoreFailure:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreFailure(Status.OUT_OF_RESOURCES, "the disk is full")
    log.error("file system error while storing: %s", exc)
    return StoreFailure(Status.PROCESSING_FAILURE, f"file system error: {exc.strerror}")
