"""The simulated provider: Stripe's test mode, with a durable ledger that several processes share.

The ledger is a SQLite file (WAL, one short transaction per call, BEGIN IMMEDIATE for writes) holding charges,
refunds, idempotency keys, webhook-style events and armed faults, so a test can arm a fault or read the events
of server processes it started. Like Stripe, a key replayed with the same parameters answers the first result
and with other parameters is an error; refunds never exceed the charge. Card numbers are never stored: only
their last four digits, and a SHA-256 fingerprint of all parameters of a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_args

from fastapi import FastAPI

from boxoffice.config import Settings
from boxoffice.payments.providers import (
    TEST_CARD_3DS,
    TEST_CARD_DECLINED,
    TEST_CARD_OK,
    ChargeResult,
    ChargeStatus,
    IdempotencyKeyReused,
    PaymentDetails,
    ProviderError,
    RefundRefused,
    RefundResult,
)

FaultKind = Literal["timeout", "fail_after_charge", "slow", "refund_unavailable", "lookup_unavailable"]
_CHARGE_FAULTS = json.dumps(["timeout", "fail_after_charge", "slow"])
_REFUND_FAULTS = json.dumps(["refund_unavailable"])
_LOOKUP_FAULTS = json.dumps(["lookup_unavailable"])
# The PaymentIntent status behind each answer, as Stripe names them.
_INTENT_STATUS: dict[ChargeStatus, str] = {
    "succeeded": "succeeded",
    "declined": "requires_payment_method",
    "pending": "requires_action",
}
_ANSWER: dict[str, ChargeStatus] = {"succeeded": "succeeded", "requires_action": "pending"}

_SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, response TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS charges (
    ref TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, amount INTEGER NOT NULL,
    currency TEXT NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL, card_last4 TEXT,
    client_secret TEXT, description TEXT NOT NULL, metadata TEXT NOT NULL,
    refunded INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS refunds (
    ref TEXT PRIMARY KEY, charge_ref TEXT NOT NULL REFERENCES charges (ref), amount INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
    data TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS faults (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, remaining INTEGER NOT NULL,
    delay REAL NOT NULL);
COMMIT;
"""
_ready: set[Path] = set()
_ready_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class _Fault:
    kind: str
    delay: float


def _fingerprint(**params: Any) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


def _insert(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> None:
    names, marks = ", ".join(values), ", ".join(f":{name}" for name in values)
    conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)  # noqa: S608 (our own names)


class Ledger:
    """The simulated provider's durable state in one SQLite file; every method is one short transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _ensure(self) -> None:
        key = self.path.resolve()
        with _ready_lock:
            if key in _ready and self.path.exists():
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Several worker processes may open a new ledger at once: switching the journal to WAL takes
            # an exclusive lock that SQLite's busy timeout does not wait for, so creation is serialised
            # across processes with a lock file.
            with self.path.with_name(self.path.name + ".lock").open("a") as guard:
                fcntl.flock(guard, fcntl.LOCK_EX)
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                try:
                    conn.execute("PRAGMA busy_timeout = 30000")
                    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                        conn.execute("PRAGMA journal_mode = WAL")
                    conn.executescript(_SCHEMA)
                finally:
                    conn.close()
            _ready.add(key)

    @contextlib.contextmanager
    def _tx(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        self._ensure()
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    # faults

    def arm(self, kind: FaultKind, *, times: int = 1, delay: float = 0.0) -> None:
        """Make the next `times` calls the fault applies to misbehave (one per call, in any process)."""
        if kind not in get_args(FaultKind):
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(get_args(FaultKind))}")
        if times < 1 or delay < 0:
            raise ValueError("times must be at least 1 and delay not negative")
        with self._tx(write=True) as conn:
            _insert(conn, "faults", {"kind": kind, "remaining": times, "delay": delay})

    def armed(self) -> list[dict[str, Any]]:
        """The faults still armed, oldest first: kind, remaining, delay."""
        with self._tx(write=False) as conn:
            rows = conn.execute("SELECT kind, remaining, delay FROM faults ORDER BY seq").fetchall()
        return [dict(r) for r in rows]

    def disarm(self) -> None:
        """Forget every armed fault."""
        with self._tx(write=True) as conn:
            conn.execute("DELETE FROM faults")

    def take_fault(self, kinds: str) -> _Fault | None:
        """Consume the oldest armed fault among `kinds` (a JSON list), if any."""
        with self._tx(write=True) as conn:
            row = conn.execute(
                "SELECT seq, kind, remaining, delay FROM faults"
                " WHERE kind IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT 1",
                (kinds,),
            ).fetchone()
            if row is None:
                return None
            if row["remaining"] <= 1:
                conn.execute("DELETE FROM faults WHERE seq = ?", (row["seq"],))
            else:
                conn.execute("UPDATE faults SET remaining = remaining - 1 WHERE seq = ?", (row["seq"],))
            return _Fault(row["kind"], row["delay"])

    # charges and refunds

    def _replay(self, conn: sqlite3.Connection, key: str, fingerprint: str) -> dict[str, Any] | None:
        row = conn.execute("SELECT fingerprint, response FROM requests WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        if row["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused(
                f"Keys for idempotent requests can only be used with the same parameters they were first "
                f"used with (key {key!r})."
            )
        answer: dict[str, Any] = json.loads(row["response"])
        return answer

    def _remember(self, conn: sqlite3.Connection, key: str, fingerprint: str, response: Any) -> None:
        answer = json.dumps(dataclasses.asdict(response))
        _insert(
            conn,
            "requests",
            {"key": key, "fingerprint": fingerprint, "response": answer, "created": time.time()},
        )

    def _event(self, conn: sqlite3.Connection, type_: str, data: dict[str, Any]) -> None:
        event_id = "evt_" + secrets.token_hex(12)
        _insert(
            conn, "events", {"id": event_id, "type": type_, "data": json.dumps(data), "created": time.time()}
        )

    def charge(
        self,
        *,
        amount: int,
        currency: str,
        details: PaymentDetails,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        """Charge by test card and record it under its key, or replay the first answer given for that key."""
        digits = re.sub(r"[\s-]", "", details.card_number or "")
        params = {"amount": amount, "currency": currency, "card": digits, "description": description}
        fingerprint = _fingerprint(op="charge", metadata=metadata, method=details.payment_method, **params)
        status, message = _outcome(digits)
        with self._tx(write=True) as conn:
            replay = self._replay(conn, idempotency_key, fingerprint)
            if replay is not None:
                return ChargeResult(**replay)
            ref = "sim_pi_" + secrets.token_hex(12)
            secret = f"{ref}_secret_{secrets.token_hex(12)}" if status == "pending" else None
            result = ChargeResult(status, ref, message, details.card_last4, secret)
            row = {
                "ref": ref,
                "idempotency_key": idempotency_key,
                "amount": amount,
                "currency": currency.lower(),
            }
            row |= {"status": _INTENT_STATUS[status], "message": message, "card_last4": result.card_last4}
            row |= {"client_secret": secret, "description": description, "metadata": json.dumps(metadata)}
            _insert(conn, "charges", row | {"created": time.time()})
            self._intent_event(conn, ref)
            self._remember(conn, idempotency_key, fingerprint, result)
            return result

    def _charge_row(self, conn: sqlite3.Connection, ref: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute("SELECT * FROM charges WHERE ref = ?", (ref,)).fetchone()
        return row

    def _intent_event(self, conn: sqlite3.Connection, ref: str) -> None:
        row = self._charge_row(conn, ref)
        assert row is not None
        if row["status"] == "succeeded":
            self._event(conn, "payment_intent.succeeded", _intent(row))
        elif row["status"] == "requires_payment_method":
            self._event(conn, "payment_intent.payment_failed", _intent(row))

    def complete_pending(self, ref: str, succeed: bool) -> ChargeResult:
        """Finish a charge waiting for 3-D Secure, as the customer would; writes its webhook event."""
        with self._tx(write=True) as conn:
            row = self._charge_row(conn, ref)
            if row is None or row["status"] != "requires_action":
                raise ValueError(f"{ref} is not a charge waiting for 3-D Secure")
            status = "succeeded" if succeed else "requires_payment_method"
            message = "" if succeed else "The 3-D Secure authentication failed."
            conn.execute("UPDATE charges SET status = ?, message = ? WHERE ref = ?", (status, message, ref))
            self._intent_event(conn, ref)
            found = self._charge_row(conn, ref)
        assert found is not None
        return _result(found)

    def refund(self, *, provider_ref: str, amount: int, idempotency_key: str) -> RefundResult:
        """Refund part of a succeeded charge, never more than what remains (or replay the first answer)."""
        fingerprint = _fingerprint(op="refund", provider_ref=provider_ref, amount=amount)
        with self._tx(write=True) as conn:
            replay = self._replay(conn, idempotency_key, fingerprint)
            if replay is not None:
                return RefundResult(**replay)
            charge = self._charge_row(conn, provider_ref)
            if charge is None:
                raise RefundRefused(f"No such payment_intent: {provider_ref!r} (resource_missing).")
            if charge["status"] != "succeeded":
                raise RefundRefused(f"{provider_ref} has no successful charge to refund.")
            remaining = charge["amount"] - charge["refunded"]
            if remaining <= 0:
                raise RefundRefused(f"{provider_ref} has already been refunded (charge_already_refunded).")
            if amount <= 0 or amount > remaining:
                raise RefundRefused(
                    f"Refund amount ({amount}) is greater than the unrefunded amount on {provider_ref} "
                    f"({remaining}) or not positive (amount_too_large)."
                )
            ref = "sim_re_" + secrets.token_hex(12)
            row = {
                "ref": ref,
                "charge_ref": provider_ref,
                "amount": amount,
                "idempotency_key": idempotency_key,
            }
            _insert(conn, "refunds", row | {"created": time.time()})
            conn.execute("UPDATE charges SET refunded = refunded + ? WHERE ref = ?", (amount, provider_ref))
            after = self._charge_row(conn, provider_ref)
            assert after is not None
            self._event(conn, "charge.refunded", _charge_object(after))
            result = RefundResult(ref)
            self._remember(conn, idempotency_key, fingerprint, result)
            return result

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        """The charge recorded under `idempotency_key`, as it stands now; None if never seen."""
        with self._tx(write=False) as conn:
            row = conn.execute(
                "SELECT * FROM charges WHERE idempotency_key = ?", (idempotency_key,)
            ).fetchone()
        return _result(row) if row is not None else None

    # what tests and invariant checks read

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """Webhook-style events in the order written: id (`evt_...`), type, data (the Stripe-like object)."""
        with self._tx(write=False) as conn:
            rows = conn.execute("SELECT id, type, data, created FROM events ORDER BY seq").fetchall()
        found = [
            {"id": r["id"], "type": r["type"], "data": json.loads(r["data"]), "created": r["created"]}
            for r in rows
        ]
        return [e for e in found if type_ is None or e["type"] == type_]

    def charges(self) -> list[dict[str, Any]]:
        """Every charge, oldest first, as stored (status as Stripe names it; `refunded` in minor units)."""
        with self._tx(write=False) as conn:
            rows = conn.execute("SELECT * FROM charges ORDER BY created, ref").fetchall()
        return [{**dict(r), "metadata": json.loads(r["metadata"])} for r in rows]

    def total_charged(self) -> int:
        """Minor units taken by succeeded charges (refunds not deducted)."""
        with self._tx(write=False) as conn:
            value = conn.execute("SELECT COALESCE(SUM(amount), 0) FROM charges WHERE status = 'succeeded'")
            return int(value.fetchone()[0])

    def total_refunded(self) -> int:
        """Minor units given back by refunds."""
        with self._tx(write=False) as conn:
            return int(conn.execute("SELECT COALESCE(SUM(amount), 0) FROM refunds").fetchone()[0])

    def refunded_by_ref(self) -> dict[str, int]:
        """Minor units refunded per charge ref (charges never refunded are left out)."""
        with self._tx(write=False) as conn:
            rows = conn.execute("SELECT charge_ref, SUM(amount) FROM refunds GROUP BY charge_ref").fetchall()
        return {str(r[0]): int(r[1]) for r in rows}


def _intent(row: sqlite3.Row) -> dict[str, Any]:
    error = {"message": row["message"]} if row["status"] == "requires_payment_method" else None
    return {
        "id": row["ref"],
        "object": "payment_intent",
        "amount": row["amount"],
        "currency": row["currency"],
        "status": row["status"],
        "description": row["description"],
        "metadata": json.loads(row["metadata"]),
        "last_payment_error": error,
        "created": int(row["created"]),
    }


def _charge_object(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["ref"].replace("sim_pi_", "sim_ch_", 1),
        "object": "charge",
        "payment_intent": row["ref"],
        "amount": row["amount"],
        "amount_refunded": row["refunded"],
        "refunded": row["refunded"] >= row["amount"],
        "currency": row["currency"],
        "metadata": json.loads(row["metadata"]),
    }


def _result(row: sqlite3.Row) -> ChargeResult:
    status = _ANSWER.get(row["status"], "declined")
    return ChargeResult(status, row["ref"], row["message"], row["card_last4"], row["client_secret"])


def arm(path: Path, kind: FaultKind, *, times: int = 1, delay: float = 0.0) -> None:
    """Arm a fault in the ledger at `path` for every process that uses it (see `Ledger.arm`)."""
    Ledger(path).arm(kind, times=times, delay=delay)


def _outcome(digits: str) -> tuple[ChargeStatus, str]:
    if digits == TEST_CARD_OK:
        return "succeeded", ""
    if digits == TEST_CARD_3DS:
        return "pending", "3-D Secure authentication required."
    if digits == TEST_CARD_DECLINED:
        return "declined", "The card was declined (test card 4000 0000 0000 0002)."
    if not digits:
        return "declined", "A card number is required."
    return "declined", (
        "The simulated provider only accepts the test cards 4242 4242 4242 4242 (success), "
        "4000 0000 0000 0002 (declined) and 4000 0025 0000 3155 (3-D Secure)."
    )


class SimulatedProvider:
    """A provider's test mode backed by the ledger at `settings.simulated_ledger_path`."""

    name = "simulated"
    lookup_is_current = True

    def __init__(self, settings: Settings) -> None:
        self.ledger = Ledger(settings.simulated_ledger_path)

    async def _fault(self, kinds: str) -> _Fault | None:
        fault = await asyncio.to_thread(self.ledger.take_fault, kinds)
        if fault is not None and fault.kind != "fail_after_charge":
            await asyncio.sleep(fault.delay)
            if fault.kind != "slow":
                raise ProviderError(f"simulated {fault.kind}: the request never reached the provider")
        return fault

    async def charge(
        self,
        *,
        amount: int,
        currency: str,
        details: PaymentDetails,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        """Succeed, decline or ask for 3-D Secure by test card; a replayed key answers its first result."""
        fault = await self._fault(_CHARGE_FAULTS)
        params: dict[str, Any] = {"amount": amount, "currency": currency, "description": description}
        params |= {"details": details, "idempotency_key": idempotency_key, "metadata": metadata}
        result = await asyncio.to_thread(self.ledger.charge, **params)
        if fault is not None and fault.kind == "fail_after_charge":
            await asyncio.sleep(fault.delay)
            raise ProviderError("simulated fail_after_charge: the charge was made but its answer was lost")
        return result

    async def refund(self, *, provider_ref: str, amount: int, idempotency_key: str) -> RefundResult:
        """Refund part of a charge (never beyond what remains); a replayed key answers its first result."""
        await self._fault(_REFUND_FAULTS)
        return await asyncio.to_thread(
            self.ledger.refund, provider_ref=provider_ref, amount=amount, idempotency_key=idempotency_key
        )

    async def lookup(self, *, idempotency_key: str, metadata: dict[str, str]) -> ChargeResult | None:
        """The charge made with this attempt's key as it stands now, or None when it never arrived."""
        await self._fault(_LOOKUP_FAULTS)
        return await asyncio.to_thread(self.ledger.lookup, idempotency_key)

    async def complete_pending(self, ref: str, succeed: bool) -> ChargeResult:
        """Finish a 3-D Secure charge (success or failure) and write its webhook event."""
        return await asyncio.to_thread(self.ledger.complete_pending, ref, succeed)


async def deliver(app: FastAPI, event: dict[str, Any]) -> bool:
    """Deliver a ledger event to the app as its webhook would (claim the id, dispatch); False if a replay."""
    from boxoffice.db import transaction
    from boxoffice.payments import repository, webhooks

    async with transaction(app.state.sessionmaker) as session:
        claimed = await repository.claim_event(
            session, event_id=str(event["id"]), provider="simulated", type_=str(event["type"])
        )
        if not claimed:
            return False
        await webhooks.dispatch(session, app, str(event["type"]), dict(event["data"]), "simulated")
    return True
