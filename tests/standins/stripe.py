"""A stand-in for the part of Stripe's HTTP API the Stripe provider uses, on a loopback port.

It speaks PaymentIntents (create and confirm; `pm_card_chargeDeclined` is declined, `pm_card_threeDSecure`
waits for 3-D Secure, any other method such as `pm_card_visa` succeeds), refunds and PaymentIntent search,
honours Idempotency-Key as Stripe does (a replay answers the first response, other parameters are a 400
`idempotency_error`) and records every call. Used in-process by tests/payments/test_stripe.py and as
the provider of a real server by tests/test_production_install.py.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

__all__ = ["StandIn", "running_stand_in"]


class StandIn:
    """What the stand-in Stripe received, and what it keeps (intents, idempotent answers)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, list[str]], str | None]] = []
        self.intents: dict[str, dict[str, Any]] = {}
        self.failed_intents: dict[str, dict[str, Any]] = {}  # declined at confirmation
        self.refunded: dict[str, int] = {}
        self.answers: dict[str, tuple[tuple[Any, ...], int, dict[str, Any]]] = {}
        self.replayed = 0
        self.lock = threading.Lock()


def _error(kind: str, message: str, code: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": kind, "code": code, "message": message, **extra}}


def _intent_answer(state: StandIn, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
    method = form["payment_method"][0]
    intent_id = "pi_" + secrets.token_hex(8)
    intent = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": int(form["amount"][0]),
        "currency": form["currency"][0],
        "status": "succeeded",
        "client_secret": intent_id + "_secret_x",
        "latest_charge": None,
        "metadata": {k[len("metadata[") : -1]: v[0] for k, v in form.items() if k.startswith("metadata[")},
    }
    if method == "pm_card_chargeDeclined":  # Stripe keeps the intent, waiting for another method
        state.failed_intents[intent_id] = {**intent, "status": "requires_payment_method"}
        return 402, _error(
            "card_error",
            "Your card was declined.",
            "card_declined",
            payment_intent=state.failed_intents[intent_id],
        )
    intent["status"] = "requires_action" if method == "pm_card_threeDSecure" else "succeeded"
    state.intents[intent_id] = intent
    return 200, intent


def _refund_answer(state: StandIn, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
    intent_id, amount = form["payment_intent"][0], int(form["amount"][0])
    intent = state.intents.get(intent_id)
    if intent is None:
        return 404, _error(
            "invalid_request_error", f"No such payment_intent: '{intent_id}'", "resource_missing"
        )
    left = intent["amount"] - state.refunded.get(intent_id, 0)
    if left <= 0:
        return 400, _error("invalid_request_error", "Already refunded.", "charge_already_refunded")
    if amount > left:
        return 400, _error("invalid_request_error", "Refund amount is too large.", "amount_too_large")
    state.refunded[intent_id] = state.refunded.get(intent_id, 0) + amount
    refund = {"id": "re_" + secrets.token_hex(8), "object": "refund", "amount": amount}
    return 200, {**refund, "payment_intent": intent_id, "status": "succeeded"}


def _search_answer(state: StandIn, query: str) -> tuple[int, dict[str, Any]]:
    match = re.fullmatch(r"metadata\['attempt'\]:'((?:[^'\\]|\\.)*)'", query)
    if match is None:
        return 400, _error("invalid_request_error", f"unsupported search query {query!r}")
    attempt = re.sub(r"\\(.)", r"\1", match.group(1))
    found = [
        i
        for i in [*state.failed_intents.values(), *state.intents.values()]
        if i["metadata"].get("attempt") == attempt
    ]
    return 200, {
        "object": "search_result",
        "data": found,
        "has_more": False,
        "next_page": None,
        "url": "/v1/payment_intents/search",
    }


def _handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any], *, replayed: bool = False) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_" + secrets.token_hex(6))
            if replayed:
                self.send_header("Idempotent-Replayed", "true")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            params = parse_qs(query)
            state.calls.append((path, params, None))
            if path == "/v1/payment_intents/search":
                with state.lock:
                    self._send(*_search_answer(state, params.get("query", [""])[0]))
            else:
                self._send(404, _error("invalid_request_error", "unknown path"))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            key = self.headers.get("Idempotency-Key")
            state.calls.append((self.path, form, key))
            fingerprint = (self.path, tuple(sorted((k, tuple(v)) for k, v in form.items())))
            with (
                state.lock
            ):  # Stripe: same key + same parameters -> the first answer; other parameters -> 400
                if key is not None and key in state.answers:
                    first, status, body = state.answers[key]
                    if first != fingerprint:
                        message = "Keys for idempotent requests can only be used with the same parameters."
                        self._send(400, _error("idempotency_error", message))
                        return
                    state.replayed += 1
                    self._send(status, body, replayed=True)
                    return
                if self.path == "/v1/payment_intents":
                    status, body = _intent_answer(state, form)
                elif self.path == "/v1/refunds":
                    status, body = _refund_answer(state, form)
                else:
                    self._send(404, _error("invalid_request_error", "unknown path"))
                    return
                if key is not None:
                    state.answers[key] = (fingerprint, status, body)
                self._send(status, body)

    return Handler


@contextmanager
def running_stand_in() -> Iterator[tuple[str, StandIn]]:
    """A stand-in Stripe API on a free loopback port: its base URL and what it received."""
    state = StandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
