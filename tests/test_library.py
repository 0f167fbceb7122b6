"""Ingestion into a real Chroma library, with the hashing fake embedder (no semantics needed)."""

from pathlib import Path

import pytest

from index.chunk import chunk_sentences
from index.config import IndexSettings
from index.embed import HashEmbedder
from index.errors import ModelMismatchError, NotFoundError
from index.ingest import ingest_paths, reindex
from index.store import Library

CFG = IndexSettings(chunk_size=300, chunk_overlap=60)


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return Library(tmp_path / "home", "articles", HashEmbedder().name)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def article(title: str, n: int) -> str:
    return title + "\n\n" + " ".join(f"This is sentence {i} of the article about {title}." for i in range(n))


def vector_ids(library: Library) -> list[str]:
    return sorted(library.vectors.chunks.get(include=[])["ids"])


def test_reingest_is_idempotent(library: Library, tmp_path: Path):
    path = write(tmp_path / "a.txt", article("Bridges", 20))
    first = ingest_paths(library, HashEmbedder(), [str(path)], CFG)
    ids = vector_ids(library)
    second = ingest_paths(library, HashEmbedder(), [str(path)], CFG)
    assert [r.status for r in first] == ["added"] and [r.status for r in second] == ["unchanged"]
    assert vector_ids(library) == ids and len(ids) == first[0].chunks > 1
    assert library.count() == 1


def test_changed_file_replaces_its_chunks_without_orphans(library: Library, tmp_path: Path):
    path = write(tmp_path / "a.txt", article("Bridges", 30))
    ingest_paths(library, HashEmbedder(), [str(path)], CFG)
    before = vector_ids(library)
    write(path, article("Bridges", 5))
    result = ingest_paths(library, HashEmbedder(), [str(path)], CFG)
    after = vector_ids(library)
    assert result[0].status == "updated"
    assert len(after) == result[0].chunks < len(before)
    assert set(after) <= set(before)  # deterministic ids: the same positions are overwritten
    library.sync()
    assert library.lexical.chunk_ids() == set(after)
    found = library.get_chunks([h.chunk_id for h in library.bm25_search("sentence", "en", 50)])
    assert found and all("sentence 5 " not in c.text for c in found.values())


def test_delete_removes_vectors_postings_and_record(library: Library, tmp_path: Path):
    a = write(tmp_path / "a.txt", article("Bridges", 10))
    b = write(tmp_path / "b.txt", article("Floods", 10))
    results = ingest_paths(library, HashEmbedder(), [str(a), str(b)], CFG)
    library.delete(results[0].article_id)
    assert [x.title for x in library.articles()] == ["Floods"]
    assert all(i.startswith(results[1].article_id) for i in vector_ids(library))
    assert library.bm25_search("bridges", "en", 10) == []
    with pytest.raises(NotFoundError, match="articlebot list"):
        library.delete(results[0].article_id)


def test_folder_is_ingested_recursively_and_bad_files_do_not_stop_the_batch(library: Library, tmp_path: Path):
    root = tmp_path / "in"
    write(root / "good.md", "# Good one\n\n" + article("Trains", 3))
    write(root / "sub" / "good.html", "<title>Page</title><p>" + article("Ships", 3) + "</p>")
    write(root / "empty.txt", "")
    (root / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (root / "latin1.txt").write_bytes(("Café\n\n" + article("Genève", 3)).encode("latin-1"))
    with (root / "huge.txt").open("wb") as out:
        out.truncate(50_000_000)
    results = ingest_paths(library, HashEmbedder(), [str(root), str(tmp_path / "missing.txt")], CFG)
    by_name = {Path(r.source).name: r for r in results}
    assert by_name["missing.txt"].reason == "no such file or folder"
    assert "empty" in by_name["empty.txt"].reason
    assert "binary" in by_name["binary.txt"].reason
    assert "over the 10 MB limit" in by_name["huge.txt"].reason
    assert {by_name[n].status for n in ("good.md", "good.html", "latin1.txt")} == {"added"}
    assert library.count() == 3  # nothing half-written from the failures
    assert "Genève" in " ".join(a.text for a in library.articles())


def test_vectors_of_uncommitted_articles_are_not_searchable(library: Library):
    # An interrupted run may have upserted vectors without committing the article record.
    library.vectors.chunks.upsert(ids=["ghost-0000"], embeddings=[HashEmbedder().embed(["x"], "passage")[0]],
                              documents=["ghost"], metadatas=[{"article_id": "ghost", "index": 0,
                                                               "start": 0, "end": 5, "language": "en"}])
    assert library.dense_search(HashEmbedder().embed(["ghost"], "query")[0], 5) == []


def test_another_model_is_refused_until_reindex(tmp_path: Path):
    home = tmp_path / "home"
    path = write(tmp_path / "a.txt", article("Bridges", 5))
    ingest_paths(Library(home, "articles", "hash-256"), HashEmbedder(256), [str(path)], CFG)
    other = Library(home, "articles", "hash-128")
    with pytest.raises(ModelMismatchError, match="articlebot reindex"):
        other.check_model()
    with pytest.raises(ModelMismatchError, match="articlebot reindex"), other.reading():
        other.ready_for_questions()  # a question, from the state read once for it
    assert reindex(other, HashEmbedder(128), CFG) == 1
    other.check_model()
    with other.reading():
        assert other.ready_for_questions()
    assert other.indexed_model() == "hash-128" and other.articles()[0].chunks > 0


def test_an_upload_updates_in_place_under_its_identity(library: Library, tmp_path: Path):
    first = write(tmp_path / "tmp1" / "notes.md", article("Bridges", 5))
    second = write(tmp_path / "tmp2" / "notes.md", article("Bridges", 8))  # edited, new temp folder
    for path in (first, second):
        [result] = ingest_paths(library, HashEmbedder(), [str(path)], CFG,
                                identities={str(path): "upload:notes.md"})
    assert result.status == "updated" and library.count() == 1
    assert library.articles()[0].source == "upload:notes.md"


def sentence_ids(library: Library) -> list[str]:
    return sorted(library.vectors.sentences.get(include=[])["ids"])


def test_sentences_are_stored_once_with_every_chunk_that_holds_them(library: Library, tmp_path: Path):
    path = write(tmp_path / "a.txt", article("Bridges", 20))
    result = ingest_paths(library, HashEmbedder(), [str(path)], CFG)[0]
    got = library.vectors.sentences.get(include=["documents", "metadatas"])
    assert len(got["ids"]) == 20 == len(set(got["documents"]))  # the overlap's repeats are stored once
    holders = [m["chunk_ids"].split(",") for m in got["metadatas"]]
    assert {c for h in holders for c in h} == set(vector_ids(library)) and len(vector_ids(library)) == result.chunks
    assert any(len(h) == 2 for h in holders)  # a sentence in the overlap belongs to both chunks
    chunks = library.get_chunks([c for h in holders for c in h])
    assert all(doc in chunks[c].text for doc, h in zip(got["documents"], holders) for c in h)
    # The vector search over sentences ranks their chunks, each once.
    query = HashEmbedder().embed(["This is sentence 17 of the article about Bridges."], "query")[0]
    ranked = library.sentence_search(query, 5)
    assert "sentence 17 " in chunks[ranked[0][0]].text + " " and len({c for c, _ in ranked}) == len(ranked)
    stored = library.sentence_vectors([got["ids"][0], "missing@0"])
    assert list(stored) == [got["ids"][0]] and stored[got["ids"][0]][0] == got["documents"][0]


def test_updating_and_deleting_an_article_leaves_no_stale_sentences(library: Library, tmp_path: Path):
    path = write(tmp_path / "a.txt", article("Bridges", 20))
    other = write(tmp_path / "b.txt", article("Floods", 4))
    first, floods = ingest_paths(library, HashEmbedder(), [str(path), str(other)], CFG)
    write(path, article("Bridges", 3))
    ingest_paths(library, HashEmbedder(), [str(path)], CFG)
    texts = library.vectors.sentences.get(where={"article_id": first.article_id}, include=["documents"])["documents"]
    assert len(texts) == 3 and not any("sentence 5 " in t for t in texts)
    library.delete(first.article_id)
    assert all(i.startswith(floods.article_id) for i in sentence_ids(library)) and len(sentence_ids(library)) == 4
    reindex(library, HashEmbedder(), CFG)
    assert len(sentence_ids(library)) == 4


def test_sentence_count_follows_the_collection(library: Library, tmp_path: Path):
    """The don't-know rule treats collections of few sentences apart; the count follows every write."""
    write(tmp_path / "a.txt", "Bridges\n\n" + " ".join(f"Bridge number {i} spans the river." for i in range(40)))
    ingest_paths(library, HashEmbedder(), [str(tmp_path / "a.txt")], CFG)
    stored = len(library.vectors.sentences.get(include=[])["ids"])
    assert stored > 0 and library.sentence_count() == stored
    write(tmp_path / "b.txt", "Floods\n\nThe river rose in the night. The bridge was closed at dawn.")
    ingest_paths(library, HashEmbedder(), [str(tmp_path / "b.txt")], CFG)
    assert library.sentence_count() == stored + 2
    library.delete(next(a.id for a in library.articles() if a.title == "Bridges"))
    assert library.sentence_count() == 2


def test_an_article_larger_than_a_chroma_batch_ingests_beside_a_small_one(library: Library, tmp_path: Path):
    sentences = 6000
    assert sentences > library.client.get_max_batch_size()  # one write of its sentences would be refused
    write(tmp_path / "in" / "big.txt", article("Atlas", sentences))
    write(tmp_path / "in" / "small.txt", article("Floods", 4))
    big, small = ingest_paths(library, HashEmbedder(), [str(tmp_path / "in")], IndexSettings())
    assert (big.status, small.status) == ("added", "added")
    assert library.vectors.sentence_count() == sentences + 4
    assert library.vectors.chunk_count() == big.chunks + small.chunks
    last = library.vectors.sentences.get(where={"article_id": big.article_id}, include=["documents"])
    assert "This is sentence 5999 of the article about Atlas." in last["documents"]


def test_one_failing_article_gets_a_reason_and_the_rest_go_in(library: Library, tmp_path: Path):
    class Failing(HashEmbedder):
        def embed(self, texts, kind):  # type: ignore[no-untyped-def]
            if any("Cursed" in t for t in texts):
                raise RuntimeError("the model ran out of memory\non this one")
            return super().embed(texts, kind)

    for title in ("Bridges", "Cursed", "Floods"):
        write(tmp_path / "in" / f"{title}.txt", article(title, 4))
    results = ingest_paths(library, Failing(), [str(tmp_path / "in")], CFG)
    assert [r.status for r in results] == ["added", "failed", "added"]
    assert results[1].reason == "could not be stored (RuntimeError: the model ran out of memory on this one)"
    assert library.count() == 2


def test_a_library_from_the_sqlite_era_is_migrated(tmp_path: Path):
    import sqlite3

    home = tmp_path / "home"
    path = write(tmp_path / "a.txt", article("Bridges", 12))
    first = Library(home, "articles", HashEmbedder().name)
    [result] = ingest_paths(first, HashEmbedder(), [str(path)], CFG)
    record = first.get(result.article_id)
    first.close()
    # What the old version kept in SQLite beside the same Chroma collections.
    first.client.delete_collection("articles_articles")
    first.client.delete_collection("articles_meta")
    db = sqlite3.connect(home / "library.sqlite3")
    db.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     "CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT, source TEXT, url TEXT, language TEXT,"
                     " published TEXT, author TEXT, ingested_at TEXT, hash TEXT, chunks INTEGER, text TEXT);")
    assert record is not None
    db.execute("INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?)", (
        record.id, record.title, record.source, record.url, record.language, record.published, record.author,
        record.ingested_at, record.hash, record.chunks, record.text))
    db.execute("INSERT INTO meta VALUES ('embed_model', 'hash-256')")
    db.commit()
    db.close()
    library = Library(home, "articles", HashEmbedder().name)
    assert library.get(record.id) == record and library.indexed_model() == "hash-256"
    assert library.bm25_search("bridges sentence", "en", 3)  # postings rebuilt from the stored chunks
    assert not (home / "library.sqlite3").exists()


def test_links_out_of_the_folder_are_not_followed_and_skips_are_reported(library: Library, tmp_path: Path):
    root = tmp_path / "in"
    write(root / "good.txt", article("Trains", 3))
    outside = write(tmp_path / "secret" / "passwd.txt", "root:x:0:0:root:/root:/bin/bash\n" + article("Root", 3))
    (root / "link.txt").symlink_to(outside)
    (root / "etc.txt").symlink_to("/etc/passwd")
    (root / "secrets").symlink_to(outside.parent, target_is_directory=True)
    (root / "inside.txt").symlink_to(root / "good.txt")  # stays in the folder: followed
    write(root / ".hidden.txt", article("Hidden", 3))
    write(root / ".git" / "notes.txt", article("Git", 3))
    write(root / "photo.jpg", "not an article")
    results = ingest_paths(library, HashEmbedder(), [str(root)], CFG)
    by_name = {Path(r.source).name: r for r in results}
    # The link inside the folder is read as the file it points to: one article.
    assert sorted(r.status for r in results if r.source.endswith("good.txt")) == ["added", "unchanged"]
    for name in ("link.txt", "etc.txt"):
        assert by_name[name].status == "skipped" and "outside the folder" in by_name[name].reason
    assert by_name["secrets"].status == "skipped" and "not followed" in by_name["secrets"].reason
    assert by_name[".hidden.txt"].reason == "hidden file" and by_name[".git"].reason == "hidden folder"
    assert "unsupported file type '.jpg'" in by_name["photo.jpg"].reason
    assert [a.title for a in library.articles()] == ["Trains"]
    assert "root:x" not in library.articles()[0].text


def test_the_same_text_under_a_second_path_is_a_duplicate(library: Library, tmp_path: Path):
    first = write(tmp_path / "a" / "bridges.txt", article("Bridges", 10))
    second = write(tmp_path / "b" / "copy-of-bridges.txt", article("Bridges", 10))
    [added] = ingest_paths(library, HashEmbedder(), [str(first)], CFG)
    [twin] = ingest_paths(library, HashEmbedder(), [str(second)], CFG)
    assert twin.status == "duplicate" and twin.article_id == added.article_id
    assert "“Bridges”" in twin.reason and added.article_id in twin.reason
    assert library.count() == 1
    assert all(i.startswith(added.article_id) for i in vector_ids(library))
    # The original still updates in place, and a reindex keeps it.
    write(first, article("Bridges", 12))
    assert [r.status for r in ingest_paths(library, HashEmbedder(), [str(first)], CFG)] == ["updated"]
    assert reindex(library, HashEmbedder(), CFG) == 1 and library.count() == 1


def test_the_same_canonical_url_under_another_identity_is_a_duplicate(library: Library):
    from index.ingest import store_article
    from index.load import RawArticle

    url = "https://news.example.org/bridges"
    first = store_article(library, HashEmbedder(), RawArticle("Bridges", article("Bridges", 5), url, url), CFG)
    # The same page reached through another address (a tracking link), slightly edited since.
    again = RawArticle("Bridges", article("Bridges", 6), "https://news.example.org/bridges?utm=x", url)
    result = store_article(library, HashEmbedder(), again, CFG)
    assert result.status == "duplicate" and result.article_id == first.article_id
    assert "the same address" in result.reason and library.count() == 1


def test_bm25_hits_say_how_much_of_the_question_they_match(library: Library, tmp_path: Path):
    """The fusion weighs a BM25 vote by its coverage: a chunk sharing one common word with the question is
    a weak vote, one holding all of its words a full one."""
    a = write(tmp_path / "a.txt", "The Avel bridge reopened after the flood. Engineers inspected its piers.")
    b = write(tmp_path / "b.txt", "The museum reopened in spring with a new wing for modern sculpture.")
    ingest_paths(library, HashEmbedder(), [str(a), str(b)], CFG)
    hits = library.bm25_search("When was the Avel bridge reopened?", "en", 10)
    texts = library.get_chunks([h.chunk_id for h in hits])
    coverage = {texts[h.chunk_id].text.split()[1]: h.coverage for h in hits}
    assert coverage["Avel"] == pytest.approx(1.0)
    assert 0.0 < coverage["museum"] < 0.5


def test_chunks_are_scored_at_their_best_stored_sentence(library: Library, tmp_path: Path):
    english = write(tmp_path / "en.txt", article("Bridges", 12))
    french = write(tmp_path / "fr.txt", "Les ponts\n\n" + " ".join(
        f"Ceci est la phrase {i} de l'article sur les ponts de la ville." for i in range(12)))
    _, fr = (r.article_id for r in ingest_paths(library, HashEmbedder(), [str(english), str(french)], CFG))
    assert library.languages() == {"en", "fr"}
    query = HashEmbedder().embed(["sentence 7 of the article about Bridges"], "query")[0]
    chunks = [h.chunk for h in library.dense_search(query, 50)]
    best = library.best_sentences(chunks, query)
    assert best.keys() == {c.id for c in chunks}
    for c in chunks:
        sentences = [c.text[s.start:s.end] for _, s in chunk_sentences([(c.article_id, c.text, c.start)])]
        expected = max(float(v @ query) for v in HashEmbedder().embed(sentences, "passage"))
        assert best[c.id] == pytest.approx(expected, abs=1e-5)
    library.delete(fr)
    assert library.languages() == {"en"}
