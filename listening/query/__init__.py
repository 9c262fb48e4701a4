"""Listening queries: say what to listen to, in one line.

A listening query describes the mentions you want to collect, for example::

    (SNCF OR #SNCF OR @SNCF_Voyageurs) AND (retard OR annul*) -"bon voyage"

Terms
    ``livraison``           a word. Matches the whole word only: ``car`` does not match "carte".
    ``"service client"``    a phrase: these words, consecutive, in this order. Matches
                            "Service-client" and "service  client", not "service du client".
                            Typographic quotes also work: “service client”, « service client ».
    ``#SNCF``               the hashtag only ("#SNCF", not the plain word "SNCF").
    ``@SNCF_Voyageurs``     the handle only ("@SNCF_Voyageurs").
    ``rembours*``           any word starting with "rembours": rembourser, remboursement...
                            The ``*`` is only allowed at the end of a word.
    ``e-commerce``          a word with inner hyphens or apostrophes (``aujourd'hui``) matches
                            the same words in a row: "e-commerce", "e commerce".

    Inside quotes, punctuation only separates words, so other symbols go there: ``"AT&T"`` and
    ``"sncf.com"`` match "AT&T" and "sncf.com" (outside quotes they are refused).

    A plain word also matches the hashtag and the handle: ``SNCF`` matches "SNCF", "#SNCF" and
    "@SNCF". Matching ignores case and accents: ``delai`` matches "Délai" and ``LIVRAISON``
    matches "livraison". Links (http/https) in mentions are ignored.

Operators (UPPERCASE only; lowercase ``and``, ``or``, ``not`` are ordinary words)
    ``a b`` or ``a AND b``  both must appear.
    ``a OR b``              either one.
    ``NOT a`` or ``-a``     ``a`` must not appear; also ``-"en retard"`` and ``-(a OR b)``.
    ``( ... )``             grouping.

    Precedence: NOT and ``-`` bind tightest, then AND (written or implicit), then OR. So
    ``Fnac Darty OR Boulanger`` means ``(Fnac AND Darty) OR Boulanger``; write
    ``Fnac (Darty OR Boulanger)`` for the other reading.

Platforms: the query is sent to each platform's own search to fetch candidates, then every
mention is matched locally with the exact rules above. X has no wildcard, so ``annul*`` is
searched on X as the word ``annul`` (X returns fewer candidates); plain-keyword platforms
(Mastodon, Bluesky) get up to 10 keyword searches, and exclusions are applied locally.

A query needs something to search for: ``NOT retard`` alone is refused, and so is an OR with an
only-negative side (``sncf OR -retard``). A query is at most 1024 characters and 50 terms.

More examples::

    (Decathlon OR #Decathlon OR @Decathlon) (colis OR livraison) -"bon plan"
    "air max" (Nike OR @Nike) NOT (promo OR code*)
    (Orange OR Sosh) (panne OR "pas de réseau" OR coupure*) -"jus d'orange"
    "Leroy Merlin" (SAV OR "service client") NOT @LeroyMerlin

In Python::

    query = parse('(SNCF OR #SNCF) (retard OR annul*) -"bon voyage"')
    query.matches(prepare(text))      # prepare each mention once, match it against every query
    to_x(query, extra="-is:retweet")  # X API v2 search string
    to_keywords(query)                # plain keyword searches (Mastodon, Bluesky)

Syntax errors raise ``QuerySyntaxError`` with a ``message`` and the 0-based ``position`` of the
problem; ``error.caret()`` shows the query with a ``^`` under it.
"""

from .compile import KEYWORDS_CAP, X_RECENT_SEARCH_MAX_LENGTH, to_keywords, to_x
from .errors import QueryCompileError, QuerySyntaxError
from .matcher import matches_text
from .nodes import And, Node, Not, Or, Query, Term
from .parser import MAX_QUERY_LENGTH, MAX_TERMS, parse
from .text import PreparedText, prepare

__all__ = [
    "KEYWORDS_CAP",
    "MAX_QUERY_LENGTH",
    "MAX_TERMS",
    "X_RECENT_SEARCH_MAX_LENGTH",
    "And",
    "Node",
    "Not",
    "Or",
    "PreparedText",
    "Query",
    "QueryCompileError",
    "QuerySyntaxError",
    "Term",
    "matches_text",
    "parse",
    "prepare",
    "to_keywords",
    "to_x",
]
