from __future__ import annotations

import idna
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.fields import FieldMapping
from transforms.context import TransformContext
from transforms.people import canonical_email, email, person_key


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("rtenant0@istockphoto.com", "rtenant0@istockphoto.com", id="plain"),
        pytest.param("  JDoe@Example.COM ", "jdoe@example.com", id="lower-trim"),
        pytest.param("mailto:a.b@example.com", "a.b@example.com", id="mailto"),
        pytest.param("Jane Doe <Jane.Doe@Corp.com>", "jane.doe@corp.com", id="display-name"),
        pytest.param('"Doe, Jane" <jdoe@corp.com>', "jdoe@corp.com", id="quoted-name"),
        pytest.param('"jdoe@corp.com"', "jdoe@corp.com", id="quoted-address"),
        pytest.param("first+tag@sub.example.co.uk", "first+tag@sub.example.co.uk", id="plus"),
        pytest.param("o'brien@example.ie", "o'brien@example.ie", id="apostrophe"),
        # the case: a non-ASCII local part (RFC 6531)
        pytest.param("user78.müller@example.com", "user78.müller@example.com", id="utf8-local"),
        pytest.param("User78.MÜLLER@Example.com", "user78.müller@example.com", id="utf8-local-upper"),
        pytest.param("u\u0308ser@example.com", "üser@example.com", id="decomposed-to-nfc"),
        pytest.param("андрей@пример.рф", "андрей@пример.рф", id="cyrillic"),
        pytest.param("用户@例子.广告", "用户@例子.广告", id="chinese"),
        pytest.param("θσερ@εχαμπλε.ψομ", "θσερ@εχαμπλε.ψομ", id="greek"),
        # IDN domains: Unicode, upper case and punycode all give the one Unicode form
        pytest.param("jörg@müller.de", "jörg@müller.de", id="idn"),
        pytest.param("JÖRG@MÜLLER.DE", "jörg@müller.de", id="idn-upper"),
        pytest.param("jörg@xn--mller-kva.de", "jörg@müller.de", id="idn-punycode"),
        pytest.param("jdoe@XN--MLLER-KVA.DE", "jdoe@müller.de", id="idn-punycode-upper"),
        # private suffixes (Active Directory UPNs) name people even if mail cannot reach them
        pytest.param("JDoe@Corp.Local", "jdoe@corp.local", id="ad-local"),
        pytest.param("jdoe@bücher.local", "jdoe@bücher.local", id="idn-local"),
        pytest.param("", None, id="empty"),
        pytest.param("N/A", None, id="placeholder"),
        pytest.param(None, None, id="none"),
    ],
)
def test_email(one, value, expected):
    assert one("email", value) == (expected, None)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        pytest.param("not-an-email", "it has no @-sign", id="no-at"),
        pytest.param("a@b", "the part after the @-sign is not valid. It should have a period", id="no-dot"),
        pytest.param("two@@example.com", "the part after the @-sign contains invalid characters: '@'",
                     id="two-at"),
        pytest.param(
            "a b@example.com",
            "the email address contains invalid characters before the @-sign: SPACE",
            id="space",
        ),
        pytest.param("a..b@example.com", "an email address cannot have two periods in a row", id="two-dots"),
        pytest.param("jdoe@exa_mple.com", "the part after the @-sign contains invalid characters: '_'",
                     id="underscore"),
        pytest.param("bob@", "there must be something after the @-sign", id="nothing-after"),
    ],
)  # fmt: skip
def test_email_errors_say_why(one, value, why):
    assert one("email", value) == (None, f"'{value}' is not an email address ({why})")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("JDoe@Example.com", "jdoe@example.com", id="email"),
        pytest.param("Jane <JDoe@Example.com>", "jdoe@example.com", id="wrapped-email"),
        pytest.param("User78.Müller@Example.com", "user78.müller@example.com", id="utf8-email"),
        pytest.param("jörg@XN--MLLER-KVA.de", "jörg@müller.de", id="punycode-email"),
        pytest.param("ksennett6", "ksennett6", id="snipe-username"),
        pytest.param("CORP\\JDoe", "jdoe", id="domain-prefix"),
        pytest.param("CORP\\Jörg.Müller", "jörg.müller", id="utf8-username"),
        pytest.param(" JDOE ", "jdoe", id="upper-trim"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_person_key(one, value, expected):
    assert one("person_key", value) == (expected, None)


def test_person_key_bad_email(one):
    assert one("person_key", "bob@") == (
        None,
        "'bob@' is not an email address (there must be something after the @-sign)",
    )


# ------------------------------------------------------------------ the matching contract

_letters = st.characters(categories=["Ll", "Lu", "Lo"], exclude_characters="ǅǈǋǲ")
_local = st.text(_letters, min_size=1, max_size=10).map(lambda s: s + "1")
_label = st.one_of(
    st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=1, max_size=8),
    st.sampled_from(["müller", "bücher", "пример", "例子", "εχαμπλε", "straße", "café"]),
)
_domain = st.tuples(_label, st.sampled_from(["com", "de", "рф", "org"])).map(".".join)
FAST = settings(max_examples=60, deadline=None, derandomize=True)
CTX = TransformContext()
MAPPING = FieldMapping(column="c")


def _one(normaliser, value):
    result = normaliser(pd.Series([value], dtype=object), MAPPING, CTX)
    return result.values.iloc[0], result.errors.iloc[0]


def _shout(text: str) -> str:
    """Upper case where it is reversible: `ß`.upper() is `SS`, which is another address
    (local parts are lower-cased, not case-folded) and another domain (UTS-46)."""
    return "".join(c.upper() if c.upper().lower() == c.lower() else c for c in text)


@FAST
@given(local=_local, domain=_domain)
def test_internationalised_addresses_are_accepted_and_stable(local, domain):
    """Any address of Unicode letters at an IDN domain is accepted, and normalising the
    result again changes nothing (so both sides of a match agree however often it runs)."""
    address, error = _one(email, f"{local}@{domain}")
    assert error is None, error
    assert _one(email, address) == (address, None)


@FAST
@given(local=_local, domain=_domain)
def test_email_and_person_key_agree_and_ignore_case(local, domain):
    """`people.email` and a reference to the person (`assigned_to`) give the same key
    whatever the case the two sources wrote, and the IDN domain's punycode form too."""
    address, _ = _one(email, f"{local}@{domain}")
    assert _one(person_key, f"{local}@{domain}") == (address, None)
    assert _one(email, f"{_shout(local)}@{_shout(domain)}")[0] == address
    punycode = idna.encode(domain, uts46=True).decode("ascii")
    assert _one(person_key, f"{local}@{punycode.upper()}") == (address, None)


_atoms = st.lists(
    st.text(st.sampled_from("aZ09-_+!'`~|{}=?#$%&*/^"), min_size=1, max_size=6), min_size=1, max_size=3
)
_ascii_part = st.one_of(_atoms.map(".".join), st.text(st.sampled_from("aZ0.-@ "), min_size=1, max_size=8))
_ascii_label = st.one_of(
    st.text(st.sampled_from("abXY09-"), min_size=1, max_size=8),
    st.sampled_from(["ab--cd", "xn--mller-kva", "-a", "a-", "a_b", "x" * 64]),
)
_ascii_domain = st.lists(_ascii_label, min_size=1, max_size=4).map(".".join)


@FAST
@given(
    local=_ascii_part, domain=_ascii_domain, tld=st.sampled_from(["com", "COM", "local", "c0m", "x", "de-"])
)
def test_the_vectorised_path_agrees_with_email_validator(local, domain, tld):
    """Plain ASCII addresses are checked by one vectorised pattern, the rest one by one by
    email-validator: both must accept and refuse the same addresses, with the same result."""
    cell = f"{local}@{domain}.{tld}"
    address, reason = _one(email, cell)
    expected, why = canonical_email(cell)
    assert (address, reason is None) == (expected, why is None), (cell, reason, why)
