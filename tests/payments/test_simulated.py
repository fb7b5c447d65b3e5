"""The simulated provider behaves like Stripe: idempotency keys, refunds within the charge, events, faults.

Its ledger is a SQLite file shared by processes, so the cross-process tests run real child processes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from boxoffice.config import Settings
from boxoffice.db import transaction
from boxoffice.payments import webhooks
from boxoffice.payments.models import WebhookEvent
from boxoffice.payments.providers import (
    TEST_CARD_3DS,
    TEST_CARD_DECLINED,
    TEST_CARD_OK,
    ChargeResult,
    IdempotencyKeyReused,
    PaymentDetails,
    ProviderError,
    RefundRefused,
    get_provider,
)
from boxoffice.payments.simulated import Ledger, SimulatedProvider, arm, deliver

OTHER_CARD = "5555555555554444"


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    """Where this test's ledger lives."""
    return tmp_path / "ledger" / "simulated.sqlite3"


@pytest.fixture
def provider(ledger_path: Path) -> SimulatedProvider:
    """A simulated provider on this test's ledger."""
    return SimulatedProvider(Settings(simulated_ledger=str(ledger_path)))


async def charge(
    provider: SimulatedProvider,
    key: str,
    card: str | None = TEST_CARD_OK,
    amount: int = 1200,
    metadata: dict[str, str] | None = None,
) -> ChargeResult:
    """Charge `amount` cents with `card` under `key`."""
    return await provider.charge(
        amount=amount,
        currency="EUR",
        details=PaymentDetails(card_number=card),
        idempotency_key=key,
        description="2 seats",
        metadata=metadata if metadata is not None else {"attempt": key, "payment_id": "1"},
    )


async def test_test_cards_answer_like_stripe(provider: SimulatedProvider) -> None:
    ok = await charge(provider, "k1", "4242 4242 4242 4242")
    assert (ok.status, ok.card_last4, ok.client_secret) == ("succeeded", "4242", None)
    assert ok.provider_ref is not None
    assert ok.provider_ref.startswith("sim_pi_")
    declined = await charge(provider, "k2", TEST_CARD_DECLINED)
    assert (declined.status, declined.card_last4) == ("declined", "0002")
    assert "declined" in declined.message
    pending = await charge(provider, "k3", TEST_CARD_3DS)
    assert pending.status == "pending"
    assert pending.client_secret is not None
    assert pending.client_secret.startswith(f"{pending.provider_ref}_secret_")
    other = await charge(provider, "k4", OTHER_CARD)
    assert other.status == "declined"
    assert "4242 4242 4242 4242" in other.message
    missing = await charge(provider, "k5", None)
    assert (missing.status, missing.card_last4, missing.message) == (
        "declined",
        None,
        "A card number is required.",
    )
    statuses = {c["idempotency_key"]: c["status"] for c in provider.ledger.charges()}
    assert statuses == {
        "k1": "succeeded",
        "k2": "requires_payment_method",
        "k3": "requires_action",
        "k4": "requires_payment_method",
        "k5": "requires_payment_method",
    }
    assert provider.ledger.total_charged() == 1200


async def test_get_provider_builds_the_simulated_provider_on_the_settings_ledger(ledger_path: Path) -> None:
    built = get_provider(Settings(simulated_ledger=str(ledger_path)))
    assert isinstance(built, SimulatedProvider)
    await built.charge(
        amount=1,
        currency="EUR",
        details=PaymentDetails(card_number=TEST_CARD_OK),
        idempotency_key="k",
        description="",
        metadata={},
    )
    assert built.ledger.path == ledger_path
    assert len(Ledger(ledger_path).charges()) == 1


@pytest.mark.parametrize("card", [TEST_CARD_OK, TEST_CARD_DECLINED, TEST_CARD_3DS, None])
async def test_a_replayed_key_answers_the_first_result(provider: SimulatedProvider, card: str | None) -> None:
    first = await charge(provider, "bo_pay_1", card)
    assert [await charge(provider, "bo_pay_1", card) for _ in range(3)] == [first] * 3
    assert len(provider.ledger.charges()) == 1
    assert len(provider.ledger.events()) == (0 if card == TEST_CARD_3DS else 1)  # no event per replay


@pytest.mark.parametrize(
    "change",
    [{"amount": 1300}, {"card": TEST_CARD_DECLINED}, {"metadata": {"attempt": "other"}}, {"card": None}],
)
async def test_the_same_key_with_other_parameters_is_an_idempotency_error(
    provider: SimulatedProvider, change: dict[str, Any]
) -> None:
    first = await charge(provider, "bo_pay_1")
    with pytest.raises(IdempotencyKeyReused) as caught:
        await charge(provider, "bo_pay_1", **change)
    assert isinstance(caught.value, ProviderError)
    assert await charge(provider, "bo_pay_1") == first
    assert provider.ledger.total_charged() == 1200


async def test_refunds_never_exceed_the_charge(provider: SimulatedProvider) -> None:
    ref = (await charge(provider, "bo_pay_1", amount=1000)).provider_ref
    assert ref is not None
    first = await provider.refund(provider_ref=ref, amount=600, idempotency_key="bo_ref_1")
    assert first.provider_ref is not None
    assert first.provider_ref.startswith("sim_re_")
    assert await provider.refund(provider_ref=ref, amount=600, idempotency_key="bo_ref_1") == first
    with pytest.raises(IdempotencyKeyReused):
        await provider.refund(provider_ref=ref, amount=400, idempotency_key="bo_ref_1")
    with pytest.raises(IdempotencyKeyReused):  # one key space, as at Stripe
        await provider.refund(provider_ref=ref, amount=400, idempotency_key="bo_pay_1")
    with pytest.raises(RefundRefused, match="amount_too_large"):
        await provider.refund(provider_ref=ref, amount=401, idempotency_key="bo_ref_2")
    await provider.refund(provider_ref=ref, amount=400, idempotency_key="bo_ref_3")
    with pytest.raises(RefundRefused, match="charge_already_refunded"):
        await provider.refund(provider_ref=ref, amount=1, idempotency_key="bo_ref_4")
    with pytest.raises(RefundRefused, match="resource_missing"):
        await provider.refund(provider_ref="sim_pi_unknown", amount=1, idempotency_key="bo_ref_5")
    with pytest.raises(RefundRefused):
        await provider.refund(provider_ref=ref, amount=0, idempotency_key="bo_ref_6")
    assert (provider.ledger.total_refunded(), provider.ledger.refunded_by_ref()) == (1000, {ref: 1000})
    refunds = provider.ledger.events("charge.refunded")
    assert [(e["data"]["amount_refunded"], e["data"]["refunded"]) for e in refunds] == [
        (600, False),
        (1000, True),
    ]
    assert {e["data"]["payment_intent"] for e in refunds} == {ref}


@pytest.mark.parametrize("card", [TEST_CARD_DECLINED, TEST_CARD_3DS])
async def test_only_a_succeeded_charge_can_be_refunded(provider: SimulatedProvider, card: str) -> None:
    ref = (await charge(provider, "bo_pay_1", card)).provider_ref
    assert ref is not None
    with pytest.raises(RefundRefused, match="no successful charge"):
        await provider.refund(provider_ref=ref, amount=1, idempotency_key="bo_ref_1")
    assert provider.ledger.total_refunded() == 0


async def test_events_are_shaped_like_stripes(provider: SimulatedProvider) -> None:
    ok = await charge(provider, "bo_pay_1", metadata={"attempt": "bo_pay_1", "payment_id": "7"})
    bad = await charge(provider, "bo_pay_2", TEST_CARD_DECLINED)
    events = provider.ledger.events()
    assert [e["type"] for e in events] == ["payment_intent.succeeded", "payment_intent.payment_failed"]
    assert all(e["id"].startswith("evt_") for e in events)
    assert len({e["id"] for e in events}) == 2
    succeeded = events[0]["data"]
    assert {k: succeeded[k] for k in ("id", "object", "amount", "currency", "status", "metadata")} == {
        "id": ok.provider_ref,
        "object": "payment_intent",
        "amount": 1200,
        "currency": "eur",
        "status": "succeeded",
        "metadata": {"attempt": "bo_pay_1", "payment_id": "7"},
    }
    failed = events[1]["data"]
    assert (failed["id"], failed["status"]) == (bad.provider_ref, "requires_payment_method")
    assert failed["last_payment_error"]["message"] == bad.message


@pytest.mark.parametrize("succeed", [True, False])
async def test_a_3ds_charge_completes_later_with_its_event(
    provider: SimulatedProvider, succeed: bool
) -> None:
    pending = await charge(provider, "bo_pay_1", TEST_CARD_3DS)
    assert pending.provider_ref is not None
    assert provider.ledger.events() == []
    done = await provider.complete_pending(pending.provider_ref, succeed)
    assert done.status == ("succeeded" if succeed else "declined")
    [event] = provider.ledger.events()
    assert event["type"] == ("payment_intent.succeeded" if succeed else "payment_intent.payment_failed")
    assert event["data"]["id"] == pending.provider_ref
    assert await provider.lookup(idempotency_key="bo_pay_1", metadata={}) == done
    assert await charge(provider, "bo_pay_1", TEST_CARD_3DS) == pending  # the replay is the first answer
    with pytest.raises(ValueError, match="not a charge waiting"):
        await provider.complete_pending(pending.provider_ref, succeed)
    assert provider.ledger.total_charged() == (1200 if succeed else 0)


async def test_lookup_finds_the_charge_of_a_key(provider: SimulatedProvider) -> None:
    made = await charge(provider, "bo_pay_1")
    assert await provider.lookup(idempotency_key="bo_pay_1", metadata={"attempt": "bo_pay_1"}) == made
    assert await provider.lookup(idempotency_key="bo_pay_never", metadata={}) is None


async def test_timeout_charges_nothing_and_a_retry_charges_once(
    provider: SimulatedProvider, ledger_path: Path
) -> None:
    arm(ledger_path, "timeout", delay=0.2)
    started = time.monotonic()
    with pytest.raises(ProviderError, match="timeout"):
        await charge(provider, "bo_pay_1")
    assert time.monotonic() - started >= 0.2
    assert provider.ledger.charges() == []
    assert await provider.lookup(idempotency_key="bo_pay_1", metadata={}) is None
    assert (await charge(provider, "bo_pay_1")).status == "succeeded"
    assert provider.ledger.total_charged() == 1200


async def test_fail_after_charge_takes_the_money_and_loses_the_answer(
    provider: SimulatedProvider, ledger_path: Path
) -> None:
    arm(ledger_path, "fail_after_charge")
    with pytest.raises(ProviderError) as caught:
        await charge(provider, "bo_pay_1")
    assert not isinstance(caught.value, IdempotencyKeyReused)
    [made] = provider.ledger.charges()
    assert made["status"] == "succeeded"
    assert [e["type"] for e in provider.ledger.events()] == ["payment_intent.succeeded"]
    found = await provider.lookup(idempotency_key="bo_pay_1", metadata={})
    assert found is not None
    assert (found.status, found.provider_ref) == ("succeeded", made["ref"])
    assert (await charge(provider, "bo_pay_1")).provider_ref == made["ref"]  # the retry replays it
    assert provider.ledger.total_charged() == 1200


async def test_refund_unavailable_refunds_nothing(provider: SimulatedProvider, ledger_path: Path) -> None:
    ref = (await charge(provider, "bo_pay_1")).provider_ref
    assert ref is not None
    arm(ledger_path, "refund_unavailable", times=2)
    for _ in range(2):
        with pytest.raises(ProviderError, match="refund_unavailable"):
            await provider.refund(provider_ref=ref, amount=1200, idempotency_key="bo_ref_1")
    assert provider.ledger.total_refunded() == 0
    await provider.refund(provider_ref=ref, amount=1200, idempotency_key="bo_ref_1")
    assert provider.ledger.refunded_by_ref() == {ref: 1200}


async def test_slow_answers_late_but_normally(provider: SimulatedProvider, ledger_path: Path) -> None:
    arm(ledger_path, "slow", delay=0.2)
    started = time.monotonic()
    assert (await charge(provider, "bo_pay_1")).status == "succeeded"
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    await charge(provider, "bo_pay_2")
    assert time.monotonic() - started < 0.2  # consumed: the next call is fast


async def test_lookup_unavailable(provider: SimulatedProvider, ledger_path: Path) -> None:
    await charge(provider, "bo_pay_1")
    arm(ledger_path, "lookup_unavailable")
    with pytest.raises(ProviderError):
        await provider.lookup(idempotency_key="bo_pay_1", metadata={})
    assert await provider.lookup(idempotency_key="bo_pay_1", metadata={}) is not None


async def test_faults_are_consumed_in_order_by_the_calls_they_apply_to(
    provider: SimulatedProvider, ledger_path: Path
) -> None:
    ledger = Ledger(ledger_path)
    ledger.arm("refund_unavailable")
    ledger.arm("timeout", times=2)
    ledger.arm("fail_after_charge")
    assert [(f["kind"], f["remaining"]) for f in ledger.armed()] == [
        ("refund_unavailable", 1),
        ("timeout", 2),
        ("fail_after_charge", 1),
    ]
    outcomes = []
    for key in ("a", "b", "c", "d"):
        try:
            outcomes.append((await charge(provider, key)).status)
        except ProviderError as exc:
            outcomes.append(str(exc).split(":")[0])
    assert outcomes == ["simulated timeout", "simulated timeout", "simulated fail_after_charge", "succeeded"]
    assert [f["kind"] for f in ledger.armed()] == ["refund_unavailable"]  # charges leave refund faults
    with pytest.raises(ValueError, match="unknown fault"):
        ledger.arm("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1"):
        ledger.arm("slow", times=0)
    ledger.disarm()
    assert ledger.armed() == []


async def test_two_providers_on_one_file_share_keys_faults_and_events(ledger_path: Path) -> None:
    one = SimulatedProvider(Settings(simulated_ledger=str(ledger_path)))
    two = SimulatedProvider(Settings(simulated_ledger=str(ledger_path)))
    first = await charge(one, "bo_pay_1")
    assert await charge(two, "bo_pay_1") == first
    with pytest.raises(IdempotencyKeyReused):
        await charge(two, "bo_pay_1", amount=1)
    arm(ledger_path, "timeout")
    with pytest.raises(ProviderError):
        await charge(two, "bo_pay_2")
    assert (await charge(one, "bo_pay_2")).status == "succeeded"
    assert len(one.ledger.events()) == len(two.ledger.events()) == 2


CHILD = """
import asyncio, json, sys
from boxoffice.config import Settings
from boxoffice.payments.providers import PaymentDetails, ProviderError
from boxoffice.payments.simulated import SimulatedProvider

async def main():
    provider = SimulatedProvider(Settings(simulated_ledger=sys.argv[1]))
    answers = {}
    for key in sys.argv[2:]:
        try:
            made = await provider.charge(
                amount=1200, currency="EUR", details=PaymentDetails(card_number="4242424242424242"),
                idempotency_key=key, description="2 seats", metadata={"attempt": key, "payment_id": "1"},
            )
            answers[key] = made.provider_ref
        except ProviderError as exc:
            answers[key] = type(exc).__name__ + ": " + str(exc)
    print(json.dumps(answers))

asyncio.run(main())
"""


async def run_child(ledger_path: Path, *keys: str) -> dict[str, str]:
    """Charge `keys` from another Python process; its answers by key."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        str(ledger_path),
        *keys,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    answers: dict[str, str] = json.loads(out)
    return answers


async def test_another_process_sees_our_keys_and_consumes_our_faults(
    provider: SimulatedProvider, ledger_path: Path
) -> None:
    first = await charge(provider, "bo_pay_1")
    arm(ledger_path, "timeout")
    answers = await run_child(ledger_path, "bo_pay_2", "bo_pay_1", "bo_pay_3")
    assert answers["bo_pay_1"] == first.provider_ref
    assert answers["bo_pay_2"].startswith("ProviderError: simulated timeout")
    assert answers["bo_pay_3"].startswith("sim_pi_")
    assert provider.ledger.armed() == []
    assert await charge(provider, "bo_pay_3") == ChargeResult(
        "succeeded", answers["bo_pay_3"], card_last4="4242"
    )


async def test_concurrent_processes_charge_each_key_once(
    provider: SimulatedProvider, ledger_path: Path
) -> None:
    keys = [f"bo_pay_{i}" for i in range(10)]
    arm(ledger_path, "slow", times=5, delay=0.05)
    children = [run_child(ledger_path, *(keys if n % 2 else reversed(keys))) for n in range(4)]
    answers = [*await asyncio.gather(*children), {k: (await charge(provider, k)).provider_ref for k in keys}]
    assert all(a == answers[0] for a in answers)
    assert sorted(c["idempotency_key"] for c in provider.ledger.charges()) == sorted(keys)
    assert provider.ledger.total_charged() == 12000
    assert len(provider.ledger.events("payment_intent.succeeded")) == 10
    assert provider.ledger.armed() == []


async def test_no_card_number_is_written_to_the_ledger(
    provider: SimulatedProvider, ledger_path: Path
) -> None:
    cards = [TEST_CARD_OK, TEST_CARD_DECLINED, TEST_CARD_3DS, OTHER_CARD, "4000 0566 5566 5556"]
    for n, card in enumerate(cards):
        await charge(provider, f"bo_pay_{n}", card)
    arm(ledger_path, "fail_after_charge")
    with pytest.raises(ProviderError):
        await charge(provider, "bo_pay_x", "4000-0566-5566-5556")
    files = [p for p in ledger_path.parent.iterdir() if p.name.startswith(ledger_path.name)]
    assert ledger_path in files
    blob = b"".join(p.read_bytes() for p in files)
    assert b"4242" in blob  # the last four are kept
    for card in [*cards, "4000056655665556"]:
        for form in {card, card.replace(" ", "")}:
            assert form.encode() not in blob
            assert form[:12].encode() not in blob


async def test_deliver_claims_each_event_once(
    app: FastAPI, client: httpx.AsyncClient, provider: SimulatedProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, dict[str, Any], str]] = []

    async def dispatch(
        session: Any, application: FastAPI, event_type: str, data: dict[str, Any], provider: str = "stripe"
    ) -> None:
        seen.append((event_type, data, provider))

    monkeypatch.setattr(webhooks, "dispatch", dispatch)
    await charge(provider, "bo_pay_1")
    [event] = provider.ledger.events()
    assert [await deliver(app, event) for _ in range(3)] == [True, False, False]
    assert seen == [("payment_intent.succeeded", event["data"], "simulated")]
    async with transaction(app.state.sessionmaker, write=False) as session:
        stored = (await session.scalars(select(WebhookEvent).where(WebhookEvent.id == event["id"]))).all()
    assert [(e.provider, e.type) for e in stored] == [("simulated", "payment_intent.succeeded")]
