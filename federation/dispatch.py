"""Handing received messages to the services that handle their document type.

Messages for this node wait in the inbox with status `received`. The dispatcher reads them in
order, calls the handler registered for the document type, and marks them `processed`. A crash
between the two runs the handler again on restart, so handlers are idempotent. Messages of a type
no handler is registered for stay `received` for an operator (or a later service) to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from opentelemetry.trace import SpanKind, Tracer

from federation.tracing import context_of, default_tracer
from storage.database import Database
from swf.v1 import envelope_pb2 as pb

__all__ = ["Dispatcher", "Received"]

log = logging.getLogger("swnode.dispatch")


@dataclass(frozen=True)
class Received:
    origin: str
    message_id: str
    document_type: str
    conversation_id: str
    header: pb.Header
    payload: bytes
    # The envelope as it arrived (header bytes, payload, signature), for re-verification.
    envelope: bytes


Handler = Callable[[Received], Awaitable[None]]


class Dispatcher:
    def __init__(
        self, db: Database, *, poll_s: float = 1.0, batch: int = 200, tracer: Tracer | None = None
    ) -> None:
        self._db = db
        self._tracer = tracer or default_tracer()
        self._handlers: dict[str, Handler] = {}
        self._wake = asyncio.Event()
        self._poll_s = poll_s
        self._batch = batch

    def register(self, document_type: str, handler: Handler) -> None:
        self._handlers[document_type] = handler

    def wake(self, _count: int = 0) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        done = 0
        for document_type, handler in self._handlers.items():
            rows = await self._db.inbox.received(document_type, 0, self._batch)
            for row in rows:
                env = pb.Envelope.FromString(bytes(row["envelope"]))
                message = Received(
                    origin=row["origin"],
                    message_id=row["message_id"],
                    document_type=row["document_type"],
                    conversation_id=row["conversation_id"],
                    header=pb.Header.FromString(env.header),
                    payload=env.payload,
                    envelope=bytes(row["envelope"]),
                )
                try:
                    # In the trace the message arrived in (its receipt's span, stored with it).
                    with self._tracer.start_as_current_span(
                        "swnode.handle",
                        context=context_of(row["traceparent"]),
                        kind=SpanKind.CONSUMER,
                        attributes={
                            "swnode.message_id": message.message_id,
                            "swnode.document_type": document_type,
                            "swnode.sender": message.origin,
                        },
                    ):
                        await handler(message)
                except Exception:
                    log.exception(
                        "handling %s %s failed; it stays received", document_type, row["message_id"]
                    )
                    continue
                async with self._db.transaction() as tx:
                    await self._db.inbox.mark_processed_txn(
                        tx, [(message.origin, message.message_id)]
                    )
                done += 1
        return done

    async def run(self) -> None:
        while True:
            try:
                while await self.run_once():
                    pass
            except Exception:
                log.exception("dispatching received messages failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)
            self._wake.clear()
