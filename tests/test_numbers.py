"""The kinds of numbers questions ask for and sentences hold."""

import pytest

from bot.numbers import number_kinds, wanted_kinds


@pytest.mark.parametrize(("text", "kinds"), [
    ("les forces américaines avaient achevé plus de 90 % de leur retrait", {"percent"}),
    ("leur sortie après 20 ans d’engagement militaire, à la suite des attentats du 11 septembre", {"duration", "date"}),
    ("In 1990 the club had 64 000 visitors and paid $3 million.", {"year", "count", "money"}),
    ("Am 5. Mai 2001 kostete es 40 Euro.", {"date", "year", "money"}),
    ("el 3 de marzo, hace 12 años", {"date", "duration"}),
    ("No number here.", set()),
])
def test_each_number_is_read_with_the_words_around_it(text: str, kinds: set[str]):
    assert number_kinds(text) == kinds


@pytest.mark.parametrize(("question", "kinds"), [
    ("How much of the withdrawal had US forces completed?", {"percent", "money", "count"}),
    ("How many years did the engagement last?", {"duration"}),
    ("Combien de temps a duré le siège ?", {"duration"}),
    ("In welchem Jahr wurde sie gegründet?", {"year", "date"}),
    ("¿Cuándo llegaron?", {"year", "date"}),
    ("What percentage of voters stayed home?", {"percent"}),
    ("Who confirmed the attack?", set()),
])
def test_questions_ask_for_a_kind_of_number(question: str, kinds: set[str]):
    assert wanted_kinds(question) == kinds
