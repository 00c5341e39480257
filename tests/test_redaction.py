"""Readers see payloads with personal data redacted; what must go, what must stay."""

from __future__ import annotations

import doctest
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracegraph.config import Config, ConfigError, RedactionConfig, load_config
from tracegraph.model import DocumentRef, Override, Status, Step, StepKind, Trace
from tracegraph.services import redaction
from tracegraph.services.redaction import RedactionSummary, Redactor

REDACTOR = Redactor()


@pytest.mark.parametrize(("text", "expected"), [
    ("Reply to jane.doe+claims@mail.example.co.uk before Friday.",
     "Reply to [redacted:email] before Friday."),
    ("cc: Bob <BOB@Example.COM>, o'brien@insurer.ie", "cc: Bob <[redacted:email]>, "
     "[redacted:email]"),
    ("mailto:ana.garcía@correo.example.es", "mailto:[redacted:email]"),
    ("policyholder_42@claims-eu.example.org.", "[redacted:email]."),
])
def test_emails_in_prose_are_redacted(text: str, expected: str) -> None:
    assert REDACTOR.redact_text(text) == expected


@pytest.mark.parametrize("phone", [
    "+44 20 7946 0958", "+1 (415) 555-0132", "+14155550132", "+33 1 23 45 67 89",
    "0044 20 7946 0958", "(415) 555-0132", "415-555-0132", "415.555.0132", "415 555 0132",
    "1-800-555-0199", "020 7946 0958", "01 23 45 67 89",
])
def test_phone_numbers_are_redacted_in_every_usual_format(phone: str) -> None:
    assert REDACTOR.redact_text(f"Customer called from {phone}, twice.") == \
        "Customer called from [redacted:phone], twice."


def test_a_number_after_a_phone_number_is_not_taken_into_it() -> None:
    assert REDACTOR.redact_text("+44 20 7946 0958 2026") == "[redacted:phone] 2026"
    assert REDACTOR.redact_text("call 415-555-0132 2 times") == "call [redacted:phone] 2 times"


@pytest.mark.parametrize("iban", [
    "DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "GB82 WEST 1234 5698 7654 32",
    "FR14 2004 1010 0505 0001 3M02 606", "NL91ABNA0417164300",
])
def test_ibans_with_a_valid_checksum_are_redacted(iban: str) -> None:
    assert REDACTOR.redact_text(f"Pay to {iban} today") == "Pay to [redacted:account] today"


@pytest.mark.parametrize("not_iban", [
    "DE89 3704 0044 0532 0130 01",   # one digit off: mod-97 fails
    "GB82 WEST 1234 5698 7654 33",
    "DE89 3704 0044 0532 0130",      # too short for Germany
    "ZZ89370400440532013000",        # no such country
])
def test_iban_shapes_failing_their_checks_are_kept(not_iban: str) -> None:
    assert REDACTOR.redact_text(f"ref {not_iban}") == f"ref {not_iban}"


def test_a_grouped_iban_stops_at_its_length_before_a_following_word() -> None:
    assert REDACTOR.redact_text("BE68 5390 0754 7034 EURO") == "[redacted:account] EURO"


@pytest.mark.parametrize("card", [
    "4111 1111 1111 1111", "4111-1111-1111-1111", "4242424242424242", "3782 822463 10005",
    "5555 5555 5555 4444", "2223 0031 2200 3222", "6011 1111 1111 1117",
])
def test_card_numbers_passing_luhn_are_redacted(card: str) -> None:
    assert REDACTOR.redact_text(f"card {card} exp 12/27") == \
        "card [redacted:account] exp 12/27"


@pytest.mark.parametrize("not_card", [
    "4111 1111 1111 1112", "5555 5555 5555 4445", "3782 822463 10006", "1234 5678 9012 3452",
])
def test_grouped_numbers_failing_luhn_or_a_card_prefix_are_kept(not_card: str) -> None:
    assert REDACTOR.redact_text(f"ref {not_card}") == f"ref {not_card}"


def test_a_cvv_after_a_card_number_is_not_part_of_it() -> None:
    assert REDACTOR.redact_text("4111 1111 1111 1111 123") == "[redacted:account] 123"


def test_long_digit_runs_are_account_numbers_unless_they_are_times() -> None:
    assert REDACTOR.redact_text("routing 021000021, account 000123456789") == \
        "routing [redacted:account], account [redacted:account]"
    kept = "at 1717171717123456789 ns, 1717171717123 ms, 1717171717123456 us, 20260304123045"
    assert REDACTOR.redact_text(kept) == kept


@pytest.mark.parametrize("text", [
    "2026-03-04", "2026-03-04T12:30:45.123456789Z", "12:30:45", "at 09:05 on 04/03/2026",
    "total $1,234.56", "EUR 1.234.567,89", "amount 123456789.50", "version 1.2.3", "v10.4.12",
    "550e8400-e29b-41d4-a716-446655440000", "12345678-1234-1234-1234-123456789012",
    "claim-2026-0001", "gpt-4o-2024-08-06", "claude-3-5-haiku-20241022",
    "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7", "step s-12", "id 12345678",
    "from 192.168.100.200", "p=0.123456789", "@adjuster see ticket #4521", "root@localhost",
    "score 0.93 after 3 retries in 1.5 s",
])
def test_what_looks_numeric_but_is_not_personal_is_kept(text: str) -> None:
    assert REDACTOR.redact_text(text) == text


def test_nested_values_keep_keys_and_redact_strings_and_account_like_integers() -> None:
    value = {
        "customer": {"email": "jo@example.com", "phones": ["415-555-0132", "n/a"]},
        "account": 123456789012, "claim": 12345678, "amount": 1234.56, "ok": True,
        "created": 1722384000, "start_ns": 1717171717123456789, "updatedAt": "1722384000",
        "pair": ("bob@example.io", 9876543210), "jo@example.com": None,
    }
    assert REDACTOR.redact_value(value) == {
        "customer": {"email": "[redacted:email]", "phones": ["[redacted:phone]", "n/a"]},
        "account": "[redacted:account]", "claim": 12345678, "amount": 1234.56, "ok": True,
        "created": 1722384000, "start_ns": 1717171717123456789, "updatedAt": "1722384000",
        "pair": ("[redacted:email]", "[redacted:account]"), "jo@example.com": None,
    }


def _step() -> Step:
    return Step(
        id="s1", kind=StepKind.TOOL_CALL, name="lookup_customer", parent_id="root",
        start_ns=1_717_171_717_000_000_000, end_ns=1_717_171_718_000_000_000,
        status=Status.ERROR, error_type="Timeout",
        error="no reply from crm for jo@example.com", model="gpt-4o-2024-08-06",
        provider="openai", input_tokens=120, output_tokens=40, cost=Decimal("0.0031"),
        tool_name="crm", tool_call_id="call_1", arguments={"email": "jo@example.com"},
        result={"iban": "DE89 3704 0044 0532 0130 00", "balance": 1234.56},
        documents=(DocumentRef(id="doc-7", title="Letter from jo@example.com", score=0.8,
                               content="Call me on +44 20 7946 0958", tokens=12),),
        input=[{"role": "user", "content": "I am jo@example.com"}], output="done",
        override=Override(actor="adjuster-3", actor_role="adjuster",
                          reason="customer phoned from 415-555-0132",
                          minutes=Decimal("4")),
        rules=("R-12",), inputs=("s0",), attributes={"customer.card": "4111111111111111"},
        raw={"created": 1722384000, "user": "jo@example.com"})


def test_a_redacted_step_keeps_every_field_that_is_not_a_payload() -> None:
    step = _step()
    redacted = REDACTOR.redact_step(step)
    payloads = {"error", "arguments", "result", "documents", "input", "output", "override",
                "attributes", "raw"}
    for field in msgspec.structs.fields(Step):
        if field.name not in payloads:
            assert getattr(redacted, field.name) == getattr(step, field.name), field.name
    assert redacted.error == "no reply from crm for [redacted:email]"
    assert redacted.arguments == {"email": "[redacted:email]"}
    assert redacted.result == {"iban": "[redacted:account]", "balance": 1234.56}
    assert redacted.documents[0] == msgspec.structs.replace(
        step.documents[0], title="Letter from [redacted:email]",
        content="Call me on [redacted:phone]")
    assert redacted.input == [{"role": "user", "content": "I am [redacted:email]"}]
    assert step.override is not None
    assert redacted.override == msgspec.structs.replace(
        step.override, reason="customer phoned from [redacted:phone]")
    assert redacted.attributes == {"customer.card": "[redacted:account]"}
    assert redacted.raw == {"created": 1722384000, "user": "[redacted:email]"}
    assert step.arguments == {"email": "jo@example.com"}, "the original is untouched"


def test_a_step_without_personal_data_comes_back_equal() -> None:
    step = Step(id="s2", kind=StepKind.LLM, model="gpt-4o", input="Summarise claim-2026-0001",
                output={"answer": "approved", "score": 0.93}, attributes={"n": 3})
    assert REDACTOR.redact_step(step) == step


def test_a_trace_is_redacted_and_summarised_for_an_audit_export() -> None:
    trace = Trace(id="claim-2026-0001", source_format="native", steps=(_step(),),
                  outcome_reason="approved for jo@example.com",
                  attributes={"customer.email": "jo@example.com"})
    redacted, summary = REDACTOR.redact_trace_with_summary(trace)
    assert redacted == REDACTOR.redact_trace(trace)
    assert redacted.outcome_reason == "approved for [redacted:email]"
    assert redacted.attributes == {"customer.email": "[redacted:email]"}
    assert redacted.steps[0] == REDACTOR.redact_step(trace.steps[0])
    assert summary == RedactionSummary(counts={"email": 7, "phone": 2, "account": 2})
    assert str(summary) == "7 emails, 2 phone numbers, 2 account numbers redacted"
    assert REDACTOR.redaction_summary(trace) == summary
    assert str(summary + RedactionSummary(counts={"phone": 1})) == \
        "7 emails, 3 phone numbers, 2 account numbers redacted"
    assert str(REDACTOR.redaction_summary(Trace(id="t", source_format="native"))) == \
        "nothing redacted"


def test_only_the_configured_builtins_are_used() -> None:
    emails_only = Redactor(RedactionConfig(patterns=("email",)))
    text = "jo@example.com 415-555-0132 4111111111111111"
    assert emails_only.redact_text(text) == "[redacted:email] 415-555-0132 4111111111111111"
    assert emails_only.redact_value({"n": 123456789012}) == {"n": 123456789012}


def _config(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "tracegraph.toml"
    path.write_text(text)
    return load_config(path)


def test_a_custom_extra_pattern_redacts_with_its_name(tmp_path: Path) -> None:
    config = _config(tmp_path, '[redaction]\npatterns = ["email"]\nreplacement = "<{name}>"\n'
                               "[redaction.extra]\npolicy_number = 'POL-[0-9]{6}'\n")
    assert config.redaction == RedactionConfig(patterns=("email",),
                                               extra={"policy_number": "POL-[0-9]{6}"},
                                               replacement="<{name}>")
    redactor = Redactor(config.redaction)
    assert redactor.redact_text("POL-123456 held by jo@example.com, 415-555-0132") == \
        "<policy_number> held by <email>, 415-555-0132"
    assert str(redactor.redaction_summary(Trace(
        id="t", source_format="native",
        attributes={"p": "POL-000001 POL-000002"}))) == "2 policy_number matches redacted"


def test_an_extra_pattern_matching_its_own_replacement_is_still_idempotent() -> None:
    redactor = Redactor(RedactionConfig(extra={"word": r"redacted|\w+"}))
    once = redactor.redact_text("hello jo@example.com")
    assert once == "[redacted:word] [redacted:email]"
    assert redactor.redact_text(once) == once


def test_without_a_redaction_section_every_builtin_is_used(tmp_path: Path) -> None:
    assert _config(tmp_path, '[tools]\nocr = "0.01"\n').redaction == RedactionConfig(
        patterns=("email", "phone", "account"), extra={}, replacement="[redacted:{name}]")
    assert Config().redaction == RedactionConfig()


@pytest.mark.parametrize(("text", "words"), [
    ("[redaction.extra]\nssn = '[0-9{3}'\n", "redaction.extra.ssn is not a valid regular"),
    ("[redaction.extra]\nanything = '.*'\n", "redaction.extra.anything matches empty text"),
    ("[redaction.extra]\nemail = 'x+'\n", "redaction.extra.email has the name of a built-in"),
    ("[redaction.extra]\n\"a b\" = 'x+'\n", "redaction.extra.a b: a pattern name"),
    ("[redaction.extra]\nssn = 3\n", "redaction.extra.ssn must be a regular expression"),
    ("[redaction]\npattern = ['email']\n", "redaction.pattern is not a setting"),
    ("[redaction]\npatterns = ['email', 'ssn']\n", "'ssn' is not a built-in pattern"),
    ("[redaction]\npatterns = 'email'\n", "redaction.patterns must be a list"),
    ("[redaction]\nreplacement = ''\n", "redaction.replacement must be a non-empty"),
    ("[redaction]\nreplacement = '[{kind}]'\n", r"may only use \{name\}, not \{kind\}"),
    ("[redaction]\nreplacement = '[{name]'\n", "redaction.replacement: "),
    ("[redactions]\n", r"\[redactions\] is not a section"),
])
def test_a_bad_redaction_setting_names_the_file_and_the_key(tmp_path: Path, text: str,
                                                            words: str) -> None:
    path = tmp_path / "tracegraph.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words) as caught:
        load_config(path)
    assert str(path) in str(caught.value)


_FRAGMENTS = st.sampled_from([
    "jo@example.com", "+44 20 7946 0958", "415-555-0132", "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00", "123456789", "2026-03-04", "1,234.56", "claim-2026-0001",
    "[redacted:email]", "[", "]", "@", ".", "-", " ", "+", "0", "4", "(", ")",
])


@given(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=12)), max_size=12).map("".join))
@settings(max_examples=300, deadline=None)
def test_redacting_twice_changes_nothing_more_and_unmatched_text_is_untouched(
        text: str) -> None:
    once = REDACTOR.redact_text(text)
    assert REDACTOR.redact_text(once) == once
    counted = REDACTOR.redact_trace_with_summary(
        Trace(id="t", source_format="native", outcome_reason=text))[1]
    if counted.total == 0:
        assert once == text
    else:
        assert once != text


def test_the_module_examples_run() -> None:
    assert doctest.testmod(redaction).failed == 0
