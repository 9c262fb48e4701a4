"""The listening query language: parsing, errors, local matching and platform compilation.

Pure Python: no database, no network.
"""

from __future__ import annotations

import json
import pickle
import random
from dataclasses import FrozenInstanceError

import pytest

from listening.query import (
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    And,
    Not,
    Or,
    Query,
    QueryCompileError,
    QuerySyntaxError,
    Term,
    matches_text,
    parse,
    prepare,
    to_keywords,
    to_x,
)
from listening.query.text import normalize, words


def w(text: str) -> Term:
    return Term("word", text)


def phrase(text: str) -> Term:
    return Term("phrase", text)


def hashtag(text: str) -> Term:
    return Term("hashtag", text)


def mention(text: str) -> Term:
    return Term("mention", text)


def prefix(text: str) -> Term:
    return Term("prefix", text)


def syntax_error(expression: str) -> QuerySyntaxError:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(expression)
    return caught.value


# --- Parsing and precedence ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "root"),
    [
        ("livraison", w("livraison")),
        ("livraison colis", And((w("livraison"), w("colis")))),
        ("livraison AND colis", And((w("livraison"), w("colis")))),
        ("a b OR c", Or((And((w("a"), w("b"))), w("c")))),
        ("a OR b c", Or((w("a"), And((w("b"), w("c")))))),
        ("a AND b OR c AND d", Or((And((w("a"), w("b"))), And((w("c"), w("d")))))),
        ("a OR b AND c OR d", Or((w("a"), And((w("b"), w("c"))), w("d")))),
        ("(a OR b) c", And((Or((w("a"), w("b"))), w("c")))),
        ("NOT a b", And((Not(w("a")), w("b")))),
        ("a -b c", And((w("a"), Not(w("b")), w("c")))),
        ("a NOT b OR c", Or((And((w("a"), Not(w("b")))), w("c")))),
        ("a -(b OR c)", And((w("a"), Not(Or((w("b"), w("c"))))))),
        ("a NOT NOT b", And((w("a"), Not(Not(w("b")))))),
        ("(a b) c", And((w("a"), w("b"), w("c")))),
        ("a (b (c OR (d OR e)))", And((w("a"), w("b"), Or((w("c"), w("d"), w("e")))))),
        ("((livraison))", w("livraison")),
        ("sncf(retard)", And((w("sncf"), w("retard")))),
    ],
)
def test_precedence_is_not_then_and_then_or_with_implicit_and(expression, root):
    assert parse(expression) == Query(root)


def test_lowercase_and_or_not_are_ordinary_words():
    assert parse("livraison and colis").root == And((w("livraison"), w("and"), w("colis")))
    assert parse("or not").root == And((w("or"), w("not")))


def test_terms_of_every_kind_are_recognised():
    query = parse('livraison "service client" #SNCF @SNCF_Voyageurs rembours* e-commerce aujourd\'hui')
    assert query.root.children == (
        w("livraison"),
        phrase("service client"),
        hashtag("SNCF"),
        mention("SNCF_Voyageurs"),
        prefix("rembours"),
        w("e-commerce"),
        w("aujourd'hui"),
    )


def test_phrases_accept_typographic_quotes_and_collapse_spaces():
    expected = Query(phrase("service client"))
    assert parse("“service   client”") == expected
    assert parse("« service client »") == expected
    assert parse('"  service\tclient "') == expected


def test_exclusion_prefix_applies_to_terms_phrases_and_groups():
    assert parse('sncf -retard -"en retard" -(panne OR grève)').root == And(
        (w("sncf"), Not(w("retard")), Not(phrase("en retard")), Not(Or((w("panne"), w("grève")))))
    )
    assert parse("sncf -retard") == parse("sncf NOT retard") == parse("sncf AND NOT retard")


def test_query_is_immutable_and_hashable():
    query = parse("sncf retard")
    with pytest.raises(FrozenInstanceError):
        query.root = w("x")
    assert hash(query) == hash(parse("sncf AND retard"))


def test_terms_lists_positive_terms_once_in_query_order():
    query = parse('(SNCF OR #SNCF) retard -annulation NOT NOT "bon voyage" SNCF')
    assert query.terms() == (w("SNCF"), hashtag("SNCF"), w("retard"), phrase("bon voyage"))


# --- Errors and their positions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "position", "fragment"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("(livraison OR colis", 0, "Unmatched '('"),
        ("(a OR (b", 6, "Unmatched '('"),  # the innermost unclosed parenthesis
        ("livraison OR colis)", 18, "Unmatched ')'"),
        ('"service client', 0, "Unterminated quote"),
        ('colis "service client', 6, "Unterminated quote"),
        ('""', 0, "Empty phrase"),
        # A missing operand is reported at the operator that lacks it (not at the end of input).
        ("a AND", 2, "'AND' is missing a term on its right"),
        ("a OR", 2, "'OR' is missing a term on its right"),
        ("OR OR", 0, "'OR' is missing a term on its left"),
        ("a OR OR b", 2, "'OR' is missing a term on its right"),
        ("AND a", 0, "'AND' is missing a term on its left"),
        ("(OR a)", 1, "'OR' is missing a term on its left"),
        ("(a AND) b", 3, "'AND' is missing a term on its right"),
        ("( )", 0, "Empty parentheses"),
        ("sncf ()", 5, "Empty parentheses"),
        ("sncf NOT", 5, "'NOT' must be followed by a term"),
        ("sncf -OR retard", 5, "'-' must be followed by a term"),
        ("*", 0, "lone '*'"),
        ("colis *", 6, "lone '*'"),
        ("-", 0, "lone '-'"),
        ("colis - retard", 6, "lone '-'"),
        ("--colis", 0, "lone '-'"),
        ("NOT retard", 0, "Nothing to search for"),
        ("-retard -annulation", 0, "Nothing to search for"),
        ("sncf OR -retard", 8, "Each side of an OR"),
        ("sncf OR (-retard NOT panne)", 9, "Each side of an OR"),
        ("rem*bours", 4, "must end the word"),
        ("rembours**", 9, "Only one '*'"),
        ("#SNCF*", 5, "only supported at the end of a plain word"),
        ('"air max"*', 9, "only supported at the end of a plain word"),
        ("#e-commerce", 2, "hashtags and handles"),
        ("sncf.com", 4, "Unexpected '.'"),
        ("sncf, ratp", 4, "Unexpected ','"),
        ("'service client'", 0, "use double quotes"),
        ("#", 0, "'#' must be directly followed by a hashtag"),
        ("@ sncf", 0, "'@' must be directly followed by a handle"),
        ("colis & retard", 6, "Unexpected character '&'"),
    ],
)
def test_syntax_errors_point_at_the_offending_character(expression, position, fragment):
    error = syntax_error(expression)
    assert error.position == position
    assert fragment in error.message


def test_over_long_query_is_refused_at_the_limit():
    error = syntax_error("colis " * 200)
    assert error.position == MAX_QUERY_LENGTH == 1024
    assert "too long" in error.message
    assert syntax_error("s" * 1025).position == 1024
    parse("s" * 1024)  # exactly at the limit is fine


def test_more_than_fifty_terms_is_refused_at_the_first_extra_term():
    expression = " OR ".join(f"mot{i}" for i in range(MAX_TERMS + 1))
    error = syntax_error(expression)
    assert error.position == expression.index(f"mot{MAX_TERMS}")
    assert "at most 50" in error.message
    parse(" OR ".join(f"mot{i}" for i in range(MAX_TERMS)))


def test_error_str_and_caret_show_where_the_problem_is():
    error = syntax_error("sncf AND")
    assert str(error) == "'AND' is missing a term on its right (at character 5)"
    assert error.caret() == "sncf AND\n     ^"
    assert syntax_error("a\t(b").caret() == "a (b\n  ^"  # whitespace shown as one space


def test_syntax_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse("(")


# --- Matching -----------------------------------------------------------------------------------


def matches(expression: str, text: str) -> bool:
    return parse(expression).matches(prepare(text))


@pytest.mark.parametrize(
    ("expression", "text"),
    [
        ("livraison", "LIVRAISON ratée"),
        ("livraison", "lívraison ratée"),
        ("LIVRAISON", "la livraison"),
        ("délai", "un delai de 3 jours"),
        ("delai", "Délai dépassé"),
        ("Élodie", "merci elodie"),
        ('"pas de réseau"', "PAS DE RESEAU depuis ce matin"),
        ("garçon", "GARCON"),
        ("straße", "Strasse"),  # case folding, not just lower-casing
    ],
)
def test_matching_ignores_case_and_accents_in_french(expression, text):
    assert matches(expression, text)


def test_words_match_whole_words_only():
    assert matches("car", "ma car, enfin")
    assert not matches("car", "ma carte bleue")
    assert not matches("carte", "car")
    assert matches("avion", "j'ai raté l'avion")  # apostrophes split words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Le Service-client est injoignable", True),
        ("service  client", True),
        ("SERVICE CLIENT!!", True),
        ("service\nclient", True),
        ("service du client", False),
        ("client service", False),
        ("service", False),
    ],
)
def test_phrases_match_consecutive_words_across_hyphens_and_spaces(text, expected):
    assert matches('"service client"', text) is expected


def test_hyphenated_and_apostrophe_terms_match_the_same_consecutive_words():
    assert matches("e-commerce", "le e-commerce explose")
    assert matches("e-commerce", "le e commerce explose")
    assert not matches("e-commerce", "le ecommerce explose")
    assert not matches("e-commerce", "commerce en e")
    assert matches("aujourd'hui", "AUJOURD’HUI encore")  # typographic apostrophe in the text


def test_plain_word_matches_word_hashtag_and_handle():
    for text in ("sncf encore", "#SNCF encore", "merci @SNCF"):
        assert matches("SNCF", text), text


def test_hashtag_and_handle_match_only_their_own_form():
    assert matches("#SNCF", "encore #sncf")
    assert not matches("#SNCF", "encore sncf")
    assert not matches("#SNCF", "merci @SNCF")
    assert matches("@SNCF", "merci @sncf")
    assert not matches("@SNCF", "encore #SNCF")
    assert not matches("@SNCF", "encore SNCF")
    assert matches("@SNCF_Voyageurs", "@sncf_voyageurs mon train ?")
    assert not matches("@sncf", "écrire à contact@sncf.fr")  # an e-mail address is not a handle
    assert matches("sncf", "écrire à contact@sncf.fr")


def test_phrases_see_hashtags_as_their_word():
    assert matches('"retard sncf"', "encore un retard #SNCF")


def test_wildcard_matches_words_starting_with_the_stem():
    for text in ("je veux être remboursé", "REMBOURSEMENT svp", "rembourser", "#remboursement"):
        assert matches("rembours*", text), text
    assert not matches("rembours*", "rembour")
    assert matches("rembours*", "non-remboursable")  # the hyphen splits words
    assert not matches("rembours*", "nonremboursable")
    assert matches("e-comm*", "E-Commerce")


def test_exclusions_remove_matching_mentions():
    assert matches("sncf -retard", "sncf à l'heure")
    assert not matches("sncf -retard", "sncf encore en RETARD")
    assert matches('sncf NOT "en retard"', "sncf: retard de 5 minutes")
    assert not matches('sncf NOT "en retard"', "sncf encore en retard")
    assert not matches("sncf -(panne OR grève)", "sncf en grève")
    assert matches("sncf -(panne grève)", "sncf en grève")
    assert matches("sncf NOT NOT retard", "sncf retard")


def test_links_are_ignored():
    assert not matches("connect", "réservez sur https://www.sncf-connect.com/app")
    assert matches("sncf", "SNCF: https://t.co/abc")


def test_readme_example_matches_as_documented():
    query = parse('(SNCF OR #SNCF OR @SNCF_Voyageurs) AND (retard OR annul*) -"bon voyage"')
    assert query.matches(prepare("@SNCF_Voyageurs train annulé ce matin"))
    assert query.matches(prepare("#sncf encore du retard"))
    assert not query.matches(prepare("SNCF retard, mais bon voyage quand même"))
    assert not query.matches(prepare("SNCF à l'heure"))


def test_matches_text_and_matches_accept_plain_strings():
    assert matches_text("sncf retard", "SNCF en retard")
    assert matches_text(parse("sncf retard"), "SNCF en retard")
    assert parse("sncf").matches("#SNCF")


def test_prepared_text_keeps_sequence_and_set():
    prepared = prepare("Merci @SNCF pour le #Retard https://t.co/x")
    assert prepared.tokens == ("merci", "sncf", "pour", "le", "retard")
    assert prepared.tokenset == {"merci", "sncf", "@sncf", "pour", "le", "retard", "#retard"}


def test_query_with_compiled_matcher_still_pickles():
    query = parse("sncf retard")
    assert query.matches(prepare("sncf retard"))
    assert pickle.loads(pickle.dumps(query)) == query


# --- Serialisation and canonical form ----------------------------------------------------------

VARIED_QUERIES = [
    "livraison",
    "livraison colis",
    '(SNCF OR #SNCF OR @SNCF_Voyageurs) AND (retard OR annul*) -"bon voyage"',
    '"air max" (Nike OR @Nike) NOT (promo OR code*)',
    "(Orange OR Sosh) (panne OR \"pas de réseau\" OR coupure*) -\"jus d'orange\"",
    "e-commerce aujourd'hui",
    "a b OR c d OR e",
    "sncf NOT NOT retard",
    "sncf -(retard panne)",
    "livraison and colis or not",
    "« service client » OR “SAV”",
    "((a OR b) (c OR (d e)))",
    "#Décathlon -#promo -@Decathlon",
    "AND* OR e-comm*",
]


@pytest.mark.parametrize("expression", VARIED_QUERIES)
def test_to_dict_from_dict_round_trip_through_json(expression):
    query = parse(expression)
    stored = json.loads(json.dumps(query.to_dict()))
    assert Query.from_dict(stored) == query


@pytest.mark.parametrize("expression", VARIED_QUERIES)
def test_canonical_form_parses_back_to_the_same_query(expression):
    query = parse(expression)
    assert parse(query.canonical()) == query
    assert parse(query.canonical()).canonical() == query.canonical()


def test_canonical_form_is_explicit():
    assert parse("a b OR c -d").canonical() == "(a AND b) OR (c AND NOT d)"
    assert parse('x -(y OR "z w") #t').canonical() == 'x AND NOT (y OR "z w") AND #t'
    assert parse("“Sav” @Fnac annul*").canonical() == '"Sav" AND @Fnac AND annul*'


def test_to_dict_shape_is_plain_json():
    assert parse("sncf -#retard").to_dict() == {
        "version": 1,
        "root": {"and": [{"term": "word", "text": "sncf"}, {"not": {"term": "hashtag", "text": "retard"}}]},
    }


def test_from_dict_normalises_nested_groups():
    a, b, c = ({"term": "word", "text": letter} for letter in "abc")
    nested = {"version": 1, "root": {"and": [{"and": [a, b]}, c]}}
    assert Query.from_dict(nested) == parse("a b c")


@pytest.mark.parametrize(
    "data",
    [
        {"version": 2, "root": {"term": "word", "text": "a"}},
        {"root": {"term": "word", "text": "a"}},
        {"version": 1, "root": {"term": "regex", "text": "a"}},
        {"version": 1, "root": {"term": "word", "text": "a b"}},
        {"version": 1, "root": {"term": "word", "text": "OR"}},
        {"version": 1, "root": {"term": "word", "text": ""}},
        {"version": 1, "root": {"and": [{"term": "word", "text": "a"}]}},
        {"version": 1, "root": {"not": {"term": "word", "text": "a"}}},
        {"version": 1, "root": {"xor": []}},
        {"version": 1, "root": "a"},
    ],
)
def test_from_dict_rejects_invalid_data(data):
    with pytest.raises(ValueError):
        Query.from_dict(data)


# --- Compilation to X ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("livraison colis", "livraison colis"),
        ("livraison AND colis OR retard", "(livraison colis) OR retard"),
        (
            '(SNCF OR #SNCF OR @SNCF_Voyageurs) AND (retard OR annul*) -"bon voyage"',
            '(SNCF OR #SNCF OR @SNCF_Voyageurs) (retard OR annul) -"bon voyage"',
        ),
        ("sncf -retard -#grève", "sncf -retard -#grève"),
        ("sncf -(retard OR panne)", "sncf -retard -panne"),  # X advises against -(a OR b)
        ("sncf -(retard panne)", "sncf -(retard panne)"),
        ("sncf NOT NOT retard", "sncf retard"),
        ("sncf -(retard OR NOT panne)", "sncf -retard panne"),
        ("e-commerce aujourd'hui rembours*", '"e-commerce" "aujourd\'hui" rembours'),
        ("“service client” @Fnac", '"service client" @Fnac'),
    ],
)
def test_to_x_outputs_x_search_syntax(expression, expected):
    assert to_x(parse(expression)) == expected


def test_to_x_appends_extra_and_protects_a_top_level_or():
    assert to_x(parse("sncf retard"), extra="-is:retweet lang:fr") == "sncf retard -is:retweet lang:fr"
    assert to_x(parse("sncf OR ratp"), extra="-is:retweet") == "(sncf OR ratp) -is:retweet"
    assert to_x(parse("sncf OR ratp"), extra="  ") == "sncf OR ratp"


def test_to_x_refuses_queries_longer_than_512_characters():
    long_words = " OR ".join(f"motassezlongnumero{i}" for i in range(25))  # 25 * 20 + 24 * 4 = 596
    with pytest.raises(QueryCompileError, match="at most 512"):
        to_x(parse(long_words))
    fits = " OR ".join(f"motassezlongnumero{i}" for i in range(20))
    assert len(to_x(parse(fits))) <= 512
    with pytest.raises(QueryCompileError):
        to_x(parse(fits), extra="x" * 200)  # the limit applies to the final string


# --- Compilation to plain keywords --------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("(a OR b) AND c NOT d", ["a c", "b c"]),
        ("livraison", ["livraison"]),
        (
            "(SNCF OR #SNCF OR @SNCF_Voyageurs) (retard OR annul*)",
            ["SNCF retard", "SNCF annul", "SNCF_Voyageurs retard", "SNCF_Voyageurs annul"],
        ),
        ('"service client" (Fnac OR Darty)', ['"service client" Fnac', '"service client" Darty']),
        ("a OR (a b)", ["a"]),
        ("sncf (retard OR -panne)", ["sncf"]),
        ("sncf NOT NOT retard", ["sncf retard"]),
        ("(a OR b) (c OR d) -(e OR f)", ["a c", "a d", "b c", "b d"]),
    ],
)
def test_to_keywords_expands_the_positive_part_to_dnf(expression, expected):
    assert to_keywords(parse(expression)) == expected


def test_to_keywords_broadens_rather_than_exceeding_the_cap():
    # 3 * 3 * 2 = 18 alternatives: the biggest factor is left out (6 broader searches).
    query = parse("(a OR b OR c) (d OR e OR f) (g OR h)")
    assert to_keywords(query) == ["a g", "a h", "b g", "b h", "c g", "c h"]
    assert to_keywords(query, cap=2) == ["g", "h"]


def test_to_keywords_truncates_only_a_flat_or_longer_than_the_cap():
    query = parse(" OR ".join(f"mot{i}" for i in range(12)))
    assert to_keywords(query) == [f"mot{i}" for i in range(10)]
    assert to_keywords(parse("sncf (" + " OR ".join(f"mot{i}" for i in range(12)) + ")")) == ["sncf"]


# --- Property-style checks on random queries ----------------------------------------------------

WORDS = ["sncf", "retard", "livraison", "colis", "délai", "e-commerce", "aujourd'hui", "and", "or", "Air", "train"]
PHRASES = ["service client", "air max", "en retard", "bon voyage", "retard sncf"]
HASHTAGS = ["SNCF", "AirMax", "retard"]
MENTIONS = ["SNCF_Voyageurs", "Fnac", "sncf"]
PREFIXES = ["rembours", "annul", "e-comm", "ret"]
TEXT_WORDS = (
    "sncf SNCF retard retards livraison colis delai délai e-commerce e commerce aujourd'hui and or "
    "air max train service client en bon voyage remboursé annulation fnac"
).split()
TEXT_TAGS = ["#SNCF", "#AirMax", "#retard", "@SNCF_Voyageurs", "@Fnac", "@sncf", "-", ",", "https://t.co/x"]


def random_term(rng: random.Random, with_prefixes: bool = True) -> Term:
    pools = {"word": WORDS, "phrase": PHRASES, "hashtag": HASHTAGS, "mention": MENTIONS, "prefix": PREFIXES}
    kinds = ["word", "word", "phrase", "hashtag", "mention"] + (["prefix"] if with_prefixes else [])
    kind = rng.choice(kinds)
    return Term(kind, rng.choice(pools[kind]))


def random_node(rng: random.Random, depth: int, with_prefixes: bool = True):
    if depth == 0 or rng.random() < 0.3:
        return random_term(rng, with_prefixes)
    shape = rng.choice(["and", "or", "not"])
    if shape == "not":
        return Not(random_node(rng, depth - 1, with_prefixes))
    cls = And if shape == "and" else Or
    children = []
    for _ in range(rng.randint(2, 3)):
        child = random_node(rng, depth - 1, with_prefixes)
        children.extend(child.children if isinstance(child, cls) else [child])  # normal form
    return cls(tuple(children))


def searchable(node) -> bool:
    """Reference rule: a query must require at least one term to be present."""
    if isinstance(node, Term):
        return True
    if isinstance(node, Not):
        return isinstance(node.child, Not) and searchable(node.child.child)
    if isinstance(node, And):
        return any(searchable(child) for child in node.children)
    return all(searchable(child) for child in node.children)


def random_queries(seed: int, count: int, with_prefixes: bool = True, depth: int = 3) -> list[Query]:
    rng, queries = random.Random(seed), []
    while len(queries) < count:
        root = random_node(rng, depth, with_prefixes)
        terms = 1 if isinstance(root, Term) else json.dumps(Query(root).to_dict()).count('"term"')
        if searchable(root) and terms <= MAX_TERMS:
            queries.append(Query(root))
    return queries


def random_texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    pool = TEXT_WORDS + TEXT_TAGS
    return [" ".join(rng.choice(pool) for _ in range(rng.randint(0, 12))) for _ in range(count)]


def reference_match(node, prepared) -> bool:
    """A slow, obviously-correct evaluator to check the optimised compiled matcher against."""
    if isinstance(node, Not):
        return not reference_match(node.child, prepared)
    if isinstance(node, And):
        return all(reference_match(child, prepared) for child in node.children)
    if isinstance(node, Or):
        return any(reference_match(child, prepared) for child in node.children)
    if node.kind in ("hashtag", "mention"):
        return ("#" if node.kind == "hashtag" else "@") + normalize(node.text) in prepared.tokenset
    pieces, tokens = words(node.text), prepared.tokens
    for start in range(len(tokens) - len(pieces) + 1):
        window = tokens[start : start + len(pieces)]
        if node.kind == "prefix":
            if window[:-1] == tuple(pieces[:-1]) and window[-1].startswith(pieces[-1]):
                return True
        elif window == tuple(pieces):
            return True
    return False


def test_random_queries_survive_canonical_and_dict_round_trips():
    for query in random_queries(seed=20250101, count=300):
        canonical = query.canonical()
        assert parse(canonical) == query, canonical
        assert Query.from_dict(json.loads(json.dumps(query.to_dict()))) == query, canonical


def test_compiled_matcher_agrees_with_a_reference_evaluator():
    texts = [prepare(text) for text in random_texts(seed=7, count=150)]
    for query in random_queries(seed=42, count=150):
        for prepared in texts:
            expected = reference_match(query.root, prepared)
            assert query.matches(prepared) == expected, (query.canonical(), prepared.tokens)


def test_keyword_searches_fetch_every_mention_the_query_matches():
    # Without wildcards (which keyword platforms cannot express) and without a cap, the keyword
    # searches must together cover every mention that local matching would keep.
    texts = [prepare(text) for text in random_texts(seed=11, count=200)]
    for query in random_queries(seed=5, count=80, with_prefixes=False, depth=2):
        searches = [parse(keywords) for keywords in to_keywords(query, cap=1000)]
        for prepared in texts:
            if query.matches(prepared):
                assert any(search.matches(prepared) for search in searches), (query.canonical(), prepared)


def test_random_queries_compile_for_every_platform():
    for query in random_queries(seed=99, count=200):
        assert to_x(query)
        keywords = to_keywords(query)
        assert 1 <= len(keywords) <= 10 and all(keywords)
