from pathlib import Path

import pytest

from index.clean import clean
from index.errors import InputError
from index.load import decode, read_file
from index.sources.pages import html_article

MB = 1_000_000


def test_comment_form_is_removed_from_the_sample(sample_article: Path):
    raw = read_file(sample_article, 10 * MB)
    text = clean(raw.text)
    assert raw.title.startswith("Les talibans attaquent une ville")
    assert "Abdul Aziz Bek" in text
    for furniture in ("Laisser un commentaire", "Votre adresse e-mail", "obligatoires"):
        assert furniture not in text
    assert not text.rstrip().endswith("*")
    assert text.endswith("forces terrestres afghanes.")


def test_english_furniture_and_lone_symbols():
    text = "Real sentence one.\n\nShare this article\n*\n\nReal sentence two.\n\nLeave a Reply\n\nSpam below."
    assert clean(text) == "Real sentence one.\n\nReal sentence two."


def test_html_keeps_article_text_and_metadata_drops_scripts_and_nav():
    page = """<html lang="fr-FR"><head><title>Le titre | Site</title>
    <meta property="og:title" content="Le vrai titre"><meta name="author" content="Ana">
    <meta property="article:published_time" content="2021-07-07"></head>
    <body><nav>Accueil Menu</nav><h1>Le vrai titre</h1><p>Premier paragraphe.</p>
    <script>alert(1)</script><p>Second &amp; dernier.</p><footer>Mentions</footer></body></html>"""
    raw = html_article(page, "/x.html")
    assert raw.title == "Le vrai titre"
    assert raw.author == "Ana" and raw.published == "2021-07-07" and raw.language == "fr"
    assert raw.text == "Premier paragraphe.\n\nSecond & dernier."


def test_markdown_title_is_the_first_heading(tmp_path: Path):
    path = tmp_path / "a.md"
    path.write_text("# Big news\n\nSomething happened today in the town.\n", encoding="utf-8")
    raw = read_file(path, MB)
    assert raw.title == "Big news"
    assert raw.text == "Something happened today in the town."


def test_latin1_file_is_decoded(tmp_path: Path):
    path = tmp_path / "latin.txt"
    path.write_bytes("Titre\n\nLe café est très réputé à Genève.".encode("latin-1"))
    assert "café est très réputé à Genève" in read_file(path, MB).text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "is empty"),
        ("blank.txt", b"  \n\n ", "is empty"),
        ("binary.txt", bytes(range(256)) * 10, "binary"),
        ("image.png", b"\x89PNG\r\n", "unsupported file type"),
    ],
)
def test_bad_files_give_a_one_line_reason(tmp_path: Path, name: str, content: bytes, reason: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_file(path, MB)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_oversized_file_is_refused_before_reading(tmp_path: Path):
    path = tmp_path / "big.txt"
    with path.open("wb") as out:
        out.truncate(50 * MB)  # sparse: 50 MB without writing them
    with pytest.raises(InputError, match=r"50\.0 MB, over the 10 MB limit"):
        read_file(path, 10 * MB)


def test_utf16_with_bom_is_text_not_binary():
    assert decode("Héllo".encode("utf-16")) == "Héllo"
