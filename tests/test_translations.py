"""The Chinese catalogue is complete and compiled (the CI step also re-extracts it)."""

from pathlib import Path

from django.utils import translation

PO = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _entries(text):
    """(msgid, msgstr-or-plural) pairs from a .po file, enough to spot empty or fuzzy ones."""
    blocks = text.split("\n\n")
    for block in blocks[1:]:
        lines = [line for line in block.splitlines() if line and not line.startswith("#~")]
        if not lines:
            continue
        yield block, lines


def test_every_message_has_a_chinese_translation():
    text = PO.read_text(encoding="utf-8")
    assert "#, fuzzy" not in text
    untranslated = [block for block, lines in _entries(text) if lines[-1] in ('msgstr ""', 'msgstr[0] ""')]
    assert untranslated == []


def test_compiled_catalogue_is_used():
    with translation.override("zh-hans"):
        assert translation.gettext("My children") == "我的孩子"
