"""Rasa's Redis lock store, with every change to a lock made atomically.

Runs inside the Rasa process; endpoints.production.yml names it. Rasa's own
RedisLockStore reads a conversation's ticket lock, changes it and writes it
back in three steps, so two Rasa instances that take a ticket for the same
conversation at the same moment can both get the same number and run their
turns at once, or one can write back a lock without the other's ticket
(RasaHQ/rasa#9213; the fix, a concurrent lock store, was withdrawn from the
open-source release in RasaHQ/rasa#11428). Here each change runs in a Redis
transaction on the lock's key (WATCH/MULTI) and starts over when another
instance changed the lock in between.

A ticket waiting for its turn is renewed each time it looks (every second):
it lives TICKET_LOCK_LIFETIME from its last look, not from when it was
issued. In Rasa's store a waiting ticket ages like the one it waits for:
when an instance dies holding a conversation's lock, its ticket and the
waiting one (issued a moment later, for the same turn sent again) expire
about together, and the waiter often finds the lock gone and fails with
LockError (measured: 7 of 16 turns sent again after a SIGKILL). Renewed,
the waiter is served once the dead ticket expires.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis import WatchError

T = TypeVar("T")


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        """Rasa hands a lock store named by module path its endpoint's settings."""
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    def _change(self, conversation_id: str, change: Callable[[TicketLock], T]) -> T:
        """Apply `change` to the conversation's lock in one transaction; a
        lock left without tickets is deleted."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    stored = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(stored)) if stored else TicketLock(conversation_id)
                    result = change(lock)
                    pipe.multi()
                    if lock.tickets:
                        pipe.set(key, lock.dumps())
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except WatchError:
                    continue

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self._change(conversation_id, lambda lock: int(lock.issue_ticket(lock_lifetime)))

    def update_lock(self, conversation_id: str) -> None:
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets())

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        """Rasa's wait for the lock, with the ticket renewed at each look."""
        while True:
            lock = self._change(conversation_id, lambda lock: _renewed(lock, ticket))
            if lock is None:  # the ticket expired: the loop stalled longer than its lifetime
                raise LockError("The ticket expired while it waited for the conversation's lock.")  # no id in logs
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)


def _renewed(lock: TicketLock, number: int) -> TicketLock | None:
    """The lock without its expired tickets and with ticket `number` living
    LOCK_LIFETIME from now; None when that ticket has expired."""
    lock.remove_expired_tickets()
    mine = [ticket for ticket in lock.tickets if ticket.number == number]
    for ticket in mine:
        ticket.expires = time.time() + LOCK_LIFETIME
    return lock if mine else None
