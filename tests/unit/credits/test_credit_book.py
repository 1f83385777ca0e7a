"""The credit book: reservations against the balance and a key's limits, and settling them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from projections.credit_book import CreditBook, Reservation
from projections.event_reader import LedgerRecord

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def book_with(added_micro: int, account: str = "acct_1") -> CreditBook:
    book = CreditBook()
    book.follow([
        LedgerRecord(1, account, 1, "Account.AccountOpened", NOW, {"name": "a"}),
        LedgerRecord(2, account, 2, "Account.CreditsAdded", NOW,
                     {"amount_micro": added_micro, "reference": "", "actor": "t"}),
    ])
    return book


def reserve(book: CreditBook, amount: int, daily: int | None = None,
            monthly: int | None = None, now: datetime = NOW) -> tuple[Reservation | None, str | None, int]:
    return book.try_reserve("acct_1", "key_1", amount, now, daily, monthly)


def test_reservations_are_refused_once_the_balance_is_spoken_for() -> None:
    book = book_with(1_000)
    assert reserve(book, 600)[0] is not None
    refused, limit, left = reserve(book, 600)
    assert (refused, limit, left) == (None, "balance", 400)


def test_a_key_daily_limit_bites_before_the_balance() -> None:
    book = book_with(1_000_000)
    assert reserve(book, 300, daily=500)[0] is not None
    assert reserve(book, 300, daily=500)[1:] == ("daily_credit_limit", 200)


def test_a_key_monthly_limit_counts_every_day_of_the_month() -> None:
    book = book_with(1_000_000)
    first, _, _ = reserve(book, 400, monthly=500, now=datetime(2026, 3, 1, tzinfo=UTC))
    assert first is not None
    book.settle(first, "gen_1", 400, date(2026, 3, 1))
    assert reserve(book, 200, monthly=500)[1:] == ("monthly_credit_limit", 100)


def test_the_next_month_starts_a_new_monthly_limit() -> None:
    book = book_with(1_000_000)
    first, _, _ = reserve(book, 500, monthly=500)
    assert first is not None
    book.settle(first, "gen_1", 500, NOW.date())
    assert reserve(book, 500, monthly=500, now=datetime(2026, 4, 1, tzinfo=UTC))[0] is not None


def test_settling_replaces_the_reservation_by_the_actual_charge() -> None:
    book = book_with(1_000)
    r, _, _ = reserve(book, 600)
    assert r is not None
    assert book.settle(r, "gen_1", 250, NOW.date()) == 250
    assert (book.balance("acct_1"), book.available("acct_1")) == (750, 750)
    assert book.key_spend("key_1", NOW.date()) == (250, 250)


def test_a_cost_above_the_reservation_is_charged_only_as_far_as_the_balance_goes() -> None:
    book = book_with(1_000)
    r, _, _ = reserve(book, 600)
    other, _, _ = reserve(book, 300)
    assert r is not None and other is not None
    assert book.settle(r, "gen_1", 900, NOW.date()) == 700  # 1000 less the other request's 300
    assert book.available("acct_1") == 0


def test_a_cost_above_the_reservation_stays_within_the_key_daily_limit() -> None:
    book = book_with(1_000_000)
    r, _, _ = reserve(book, 400, daily=500)
    assert r is not None
    assert book.settle(r, "gen_1", 800, NOW.date()) == 500


def test_the_reserved_amount_is_always_charged_in_full() -> None:
    book = book_with(1_000)
    r, _, _ = reserve(book, 600, daily=600)
    assert r is not None
    r.daily_limit_micro = 100  # the operator lowered the limit while the request ran
    assert book.settle(r, "gen_1", 600, NOW.date()) == 600


def test_a_charge_settled_here_is_not_counted_again_when_the_ledger_brings_it() -> None:
    book = book_with(1_000)
    r, _, _ = reserve(book, 600)
    assert r is not None
    book.settle(r, "gen_1", 250, NOW.date())
    book.follow([LedgerRecord(3, "gen_1", 4, "Generation.UsageRecorded", NOW,
                              {"account_id": "acct_1", "key_id": "key_1", "cost_micro": 250})])
    assert book.balance("acct_1") == 750


def test_the_projector_is_told_to_skip_a_charge_settled_here_and_only_once() -> None:
    book = book_with(1_000)
    r, _, _ = reserve(book, 600)
    assert r is not None
    book.settle(r, "gen_1", 250, NOW.date())
    assert book.already_applied("Generation.UsageRecorded", "gen_1")
    assert not book.already_applied("Generation.UsageRecorded", "gen_1")  # forgotten once skipped
    assert not book.already_applied("Generation.UsageRecorded", "gen_9")  # another process's charge
    assert not book.already_applied("Account.CreditsAdded", "acct_1")
    assert book.balance("acct_1") == 750


def test_a_charge_from_another_process_is_counted_when_the_ledger_brings_it() -> None:
    book = book_with(1_000)
    book.follow([LedgerRecord(3, "gen_9", 4, "Generation.UsageRecorded", NOW,
                              {"account_id": "acct_1", "key_id": "key_1", "cost_micro": 250})])
    assert book.balance("acct_1") == 750
    assert book.key_spend("key_1", NOW.date()) == (250, 250)


def test_a_released_reservation_frees_its_credits() -> None:
    book = book_with(1_000)
    r, _, _ = reserve(book, 1_000)
    assert r is not None
    book.release(r)
    assert book.available("acct_1") == 1_000
