import pytest
import yaml

from core.texts import LANGUAGES, TEXT_FILES, Texts


def _entries() -> list[tuple[str, str, object]]:
    return [
        (path.name, key, variants)
        for path in TEXT_FILES
        for key, variants in yaml.safe_load(path.read_text(encoding="utf-8")).items()
    ]


@pytest.mark.parametrize(("file", "key", "variants"), _entries())
def test_every_text_is_in_chinese_and_english(file: str, key: str, variants: object) -> None:
    assert isinstance(variants, dict) and set(variants) == set(LANGUAGES), f"{file}: {key}"
    assert all(isinstance(t, str) and t.strip() for t in variants.values()), f"{file}: {key}"


class _AnyValue(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "x"


@pytest.mark.parametrize(("file", "key", "variants"), _entries())
def test_every_text_is_a_valid_template(file: str, key: str, variants: dict[str, str]) -> None:
    for text in variants.values():
        text.format_map(_AnyValue())  # raises on a stray brace or a positional {}


def test_both_languages_read_chinese_then_english(tmp_path) -> None:
    path = tmp_path / "texts.yml"
    path.write_text("hello:\n  zh: 你好 {name}\n  en: Hello {name}\n", encoding="utf-8")
    texts = Texts.load(path)
    assert texts.both("hello", name="Li") == "你好 Li / Hello Li"
    assert texts.get("hello", "fr", name="Li") == "你好 Li", "Chinese when a language is missing"
