from index.chunk import chunk, split_sentences


def texts(text: str) -> list[str]:
    return [text[s.start:s.end] for s in split_sentences(text)]


def test_sentences_respect_abbreviations_initials_and_numbers():
    text = "Mr. Smith met Dr. Jones at 3.5 p.m. today. J. K. Rowling said no! Was it? M. Dupont a dit oui."
    assert texts(text) == [
        "Mr. Smith met Dr. Jones at 3.5 p.m. today.",
        "J. K. Rowling said no!",
        "Was it?",
        "M. Dupont a dit oui.",
    ]


def test_paragraph_breaks_end_sentences_without_punctuation():
    assert texts("A heading\n\nThe body starts here. It goes on.") == [
        "A heading", "The body starts here.", "It goes on."]


def test_french_quotes_and_ellipsis():
    text = "« La guerre fait rage », a-t-il dit. Puis… Il est parti."
    assert texts(text) == ["« La guerre fait rage », a-t-il dit.", "Puis…", "Il est parti."]


def test_chunks_keep_offsets_and_whole_sentences():
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    chunks = chunk(text, size=120, overlap=40)
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert c.text.startswith("Sentence") and c.text.endswith(".")
        assert len(c.text) <= 120
    # Consecutive chunks overlap by at least one sentence and always move forward.
    for a, b in zip(chunks, chunks[1:]):
        assert a.start < b.start < a.end <= b.end


def test_zero_overlap_tiles_the_text():
    text = " ".join(f"Word{i} ends." for i in range(30))
    chunks = chunk(text, size=50, overlap=0)
    for a, b in zip(chunks, chunks[1:]):
        assert b.start > a.end - 1


def test_long_sentence_is_cut_to_size():
    text = "x" * 1000
    chunks = chunk(text, size=300, overlap=0)
    assert all(len(c.text) <= 300 for c in chunks)
    assert "".join(c.text for c in chunks) == text


def test_empty_text_gives_no_chunks():
    assert chunk("", 100, 10) == []
    assert chunk("   \n\n ", 100, 10) == []


def test_chunk_sentences_lists_each_sentence_once_across_overlapping_chunks():
    from index.chunk import chunk_sentences

    text = " ".join(f"Sentence number {i} is here." for i in range(12)) + " Ok."
    chunks = chunk(text, 120, 40)
    spans = chunk_sentences([("a", c.text, c.start) for c in chunks])
    texts = [chunks[i].text[s.start:s.end] for i, s in spans]
    assert texts == [f"Sentence number {i} is here." for i in range(12)]  # "Ok." is too short to answer
    # Two articles' identical offsets are different sentences.
    assert len(chunk_sentences([("a", "A first full sentence.", 0), ("b", "A first full sentence.", 0)])) == 2
