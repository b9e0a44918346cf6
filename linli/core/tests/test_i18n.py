"""The interface is Chinese by default and complete in English."""

import re
from pathlib import Path

from django.conf import settings
from django.test import Client

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_pages_are_chinese_by_default_and_switch_to_english(world):
    browser = Client()  # no Accept-Language: a fresh phone on the intranet
    browser.force_login(world.alice)
    page = browser.get("/").content.decode()
    assert 'lang="zh-Hans"' in page
    assert "我的楼栋" in page and "居民" in page
    browser.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = browser.get("/").content.decode()
    assert 'lang="en"' in page and "My buildings" in page


def _entries(text: str) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for each entry of a .po file, joined across continuation lines."""
    entries = []
    for block in text.split("\n\n"):
        fuzzy = "#, fuzzy" in block or ", fuzzy" in block
        strings: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[0\])?) "(.*)"$', line)
            if match:
                key = match.group(1)
                strings[key] = match.group(2)
            elif line.startswith('"') and key:
                strings[key] += line[1:-1]
        if strings.get("msgid"):
            entries.append((strings["msgid"], strings.get("msgstr", strings.get("msgstr[0]", "")), fuzzy))
    return entries


def test_every_message_has_a_chinese_translation_with_the_same_placeholders():
    entries = _entries(PO.read_text(encoding="utf-8"))
    assert len(entries) > 200
    untranslated = [m for m, s, _ in entries if not s]
    fuzzy = [m for m, _, f in entries if f]
    assert not untranslated, untranslated[:10]
    assert not fuzzy, fuzzy[:10]
    for msgid, msgstr, _ in entries:
        assert sorted(re.findall(r"%\(\w+\)[sd]", msgid)) == sorted(re.findall(r"%\(\w+\)[sd]", msgstr)), (
            msgid
        )


def test_the_compiled_catalog_matches_the_source():
    import gettext

    with PO.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for msgid, msgstr, _ in _entries(PO.read_text(encoding="utf-8")):
        if "\\" in msgid or "\\" in msgstr:
            continue  # escapes differ between the two forms; the others are enough
        catalog = compiled._catalog  # type: ignore[attr-defined]
        found = [
            v for k, v in catalog.items() if (k[0] if isinstance(k, tuple) else k).split("\x04")[-1] == msgid
        ]
        assert msgstr in found, f"{msgid!r}: run `make messages` to recompile"
