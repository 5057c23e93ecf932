"""Similar petitions: one service for both databases.

While a creator types, on a petition's page and in the moderators' duplicate
choice, ``petitions_similar`` suggests petitions that ask for the same thing,
so that support gathers in one place.

How it ranks, on either database:

1. The text is cut into *significant words*: letters and digits, lower-cased;
   English stop-words and petition boilerplate ("petition", "please", "call")
   dropped; words under three characters dropped except numbers and
   all-capital acronyms (EU, TB). At most ``MAX_TERMS``, in order, so the
   action (which comes first) always counts. Only these words reach the
   database, each as a quoted or plain word, so no input is read as syntax.
2. The database finds the petitions that contain *any* of the words (OR),
   stemmed (pardons, pardoned -> pardon), and ranks them like bm25: a rare
   word (a name) counts far more than a common one (pardon, ban), a word in
   the action more than in the background, more than in the details, and
   repeating a word helps less and less.

   - SQLite: an FTS5 table (Porter stemmer, diacritics folded) kept in sync
     with the petitions by triggers, ranked by ``bm25`` with column weights.
   - PostgreSQL: a weighted tsvector (action A, background B, details C;
     ``english``) behind a GIN expression index; per word, its ``ts_rank_cd``
     (saturated) times its inverse document frequency. pg_trgm adds what
     stemming cannot: a rare word spelt like a word of a petition's action
     (Dassy / Dassey, Snowdon / Snowden) finds that petition through a
     trigram index and counts as a partial match in the action.
     To stay fast on a large table (about 30 ms for 200,000 petitions), the
     frequencies of common words come from the statistics ANALYZE keeps,
     candidates are the petitions holding the rarest words (up to
     ``PG_POOL``), chosen from the indexes alone, and only the best
     ``PG_RERANK`` of them have their text read and ranked.

3. Scores become relative to the best match (1.0); matches below
   ``MIN_RELATIVE_SCORE`` are noise and dropped. Relevance chooses the
   ``limit`` petitions shown; among them, petitions that take signatures
   come first, then responded ones and those closed in the last
   ``RECENTLY_CLOSED`` - each group best first.

Drafts, rejected, hidden and removed petitions never appear.

The measured quality (the share of re-worded petitions whose original is in
the top three) is in tests/petitions/test_similar.py.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from petitio.petitions.models import SIGNABLE_STATES, Petition, State

logger = logging.getLogger(__name__)

# The petitions that may be suggested, and those among them listed first.
SUGGESTED_STATES = (*SIGNABLE_STATES, State.CLOSED)
OPEN_STATES = tuple(s for s in SIGNABLE_STATES if s != State.RESPONDED)
RECENTLY_CLOSED = timedelta(days=365)

MAX_TEXT = 2_000  # characters read: an action, a background and some details
MAX_TERMS = 32
CANDIDATES = 50
MIN_RELATIVE_SCORE = 0.3

_STOP_WORDS = """
    a about above after again against all also am an and any are aren as at be
    because been before being below between both but by can cannot could couldn
    did didn do does doesn doing don down during each either else even ever every
    few for from further get gets got had hadn has hasn have haven having he her
    here hers herself him himself his how however i if in into is isn it its itself
    just let like ll may me might more most much must mustn my myself neither no
    nor not now of off on once one only or other others our ours ourselves out over
    own per put rather re same shall shan she should shouldn so some such than that
    the their theirs them themselves then there these they this those through to
    too under until up upon us ve very via was wasn we were weren what when where
    whether which while who whom whose why will with within without won would
    wouldn yet you your yours yourself yourselves
    petition petitions petitioning please sign signed signing signature signatures
    ask asking asks call calling calls urge urging demand demanding want wants
    need needs request requesting make making made take taking give giving allow
    allowing ensure people government governments
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class SimilarPetition:
    petition: Petition
    # Relative to the best match of the same search: 1.0 for the best, down to
    # MIN_RELATIVE_SCORE. Not comparable between searches.
    score: float


def search_terms(text: str) -> list[str]:
    """The significant words of ``text``, lower-cased, in order, without repeats."""
    terms: list[str] = []
    seen: set[str] = set()
    for match in _WORD.finditer(unicodedata.normalize("NFKC", text[:MAX_TEXT])):
        word = match.group()
        term = word.casefold()
        if term in seen or term in STOP_WORDS:
            continue
        if len(term) < 3 and not (
            term.isdigit() or (len(word) == 2 and word.isalpha() and word.isupper())
        ):
            continue
        seen.add(term)
        terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    return terms


def petitions_similar(
    *, text: str, exclude_id: int | None = None, limit: int = 5
) -> list[SimilarPetition]:
    """Petitions that ask for what ``text`` (an action and background) asks.

    ``exclude_id`` leaves out the petition itself (on its own page). Open
    petitions come first; see the module's documentation for the ranking.
    """
    terms = search_terms(text)
    if not terms or limit <= 0:
        return []
    now = timezone.now()
    where = _Where(closed_since=now - RECENTLY_CLOSED, exclude_id=exclude_id or 0)
    if connection.vendor == "postgresql":
        scored = _postgresql_scores(terms, where)
    elif connection.vendor == "sqlite":
        scored = _sqlite_scores(terms, where)
    else:
        raise NotImplementedError(f"No similar-petition search on {connection.vendor}.")
    best = max((score for _, score in scored), default=0.0)
    if best <= 0:
        return []
    relative = [(pk, score / best) for pk, score in scored]
    chosen = sorted(
        ((pk, r) for pk, r in relative if r >= MIN_RELATIVE_SCORE),
        key=lambda item: (-item[1], -item[0]),
    )[:limit]
    petitions = Petition.objects.in_bulk([pk for pk, _ in chosen])
    found = [SimilarPetition(petitions[pk], round(r, 4)) for pk, r in chosen if pk in petitions]
    found.sort(key=lambda s: not _is_open(s.petition, now))  # stable: best first in each
    return found


def _is_open(petition: Petition, now: datetime) -> bool:
    return petition.state in OPEN_STATES and (
        petition.closes_at is None or petition.closes_at > now
    )


@dataclass(frozen=True)
class _Where:
    """The petitions that may be suggested, as SQL on ``petitions_petition p``."""

    closed_since: datetime
    exclude_id: int

    def sql(self) -> str:
        states = ", ".join(f"%(state{i})s" for i in range(len(SUGGESTED_STATES)))
        return (
            f"p.state IN ({states}) AND p.id <> %(exclude_id)s"
            " AND (p.closed_at IS NULL OR p.closed_at >= %(closed_since)s)"
        )

    def params(self) -> dict[str, Any]:
        return {
            **{f"state{i}": str(state) for i, state in enumerate(SUGGESTED_STATES)},
            "closed_since": self.closed_since,
            "exclude_id": self.exclude_id,
        }


# --- SQLite: FTS5 ----------------------------------------------------------------------
#
# The migration (petitions 0003_search) installs this; changing the table or
# the triggers here needs a new migration that reinstalls them.

# bm25 column weights (action, background, details).
SQLITE_WEIGHTS = (10.0, 4.0, 1.0)

SQLITE_FTS_CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS petitions_petition_fts USING fts5("
    "action, background, details, tokenize = 'porter unicode61 remove_diacritics 2')"
)
# The FTS table keeps its own copy of the text (rowid = petition id) rather
# than reading petitions_petition, so text indexed while a trigger was missing
# can never corrupt it: the repair below just rebuilds it.
SQLITE_FTS_TRIGGERS = {
    "petitions_petition_fts_insert": (
        "CREATE TRIGGER IF NOT EXISTS petitions_petition_fts_insert "
        "AFTER INSERT ON petitions_petition BEGIN "
        "INSERT INTO petitions_petition_fts (rowid, action, background, details) "
        "VALUES (new.id, new.action, new.background, new.details); END"
    ),
    # Only a change of the text reindexes: the tally writer's count updates do not.
    "petitions_petition_fts_update": (
        "CREATE TRIGGER IF NOT EXISTS petitions_petition_fts_update "
        "AFTER UPDATE OF id, action, background, details ON petitions_petition BEGIN "
        "DELETE FROM petitions_petition_fts WHERE rowid = old.id; "
        "INSERT INTO petitions_petition_fts (rowid, action, background, details) "
        "VALUES (new.id, new.action, new.background, new.details); END"
    ),
    "petitions_petition_fts_delete": (
        "CREATE TRIGGER IF NOT EXISTS petitions_petition_fts_delete "
        "AFTER DELETE ON petitions_petition BEGIN "
        "DELETE FROM petitions_petition_fts WHERE rowid = old.id; END"
    ),
}
SQLITE_FTS_REBUILD = (
    "DELETE FROM petitions_petition_fts",
    "INSERT INTO petitions_petition_fts (rowid, action, background, details) "
    "SELECT id, action, background, details FROM petitions_petition",
)
SQLITE_FTS_DROP = (
    *(f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_FTS_TRIGGERS),
    "DROP TABLE IF EXISTS petitions_petition_fts",
)


def sqlite_fts_install(cursor: Any) -> None:
    """Create the FTS table and its triggers where missing, and (re)fill the table."""
    cursor.execute(SQLITE_FTS_CREATE)
    for statement in SQLITE_FTS_TRIGGERS.values():
        cursor.execute(statement)
    for statement in SQLITE_FTS_REBUILD:
        cursor.execute(statement)


def sqlite_fts_uninstall(cursor: Any) -> None:
    for statement in SQLITE_FTS_DROP:
        cursor.execute(statement)


def sqlite_fts_repair() -> bool:
    """Reinstall the triggers if a schema change dropped them; True if it had to.

    SQLite cannot alter most columns in place, so for many later migrations of
    Petition (a new NOT NULL field, for one) Django copies the table, drops
    the original and renames the copy - and dropping the original drops its
    triggers. This check reads the schema once per search; the repair
    rebuilds the index once.
    """
    names = list(SQLITE_FTS_TRIGGERS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'petitions_petition' AND name IN (%s, %s, %s)",
            names,
        )
        (present,) = cursor.fetchone()
    if present == len(names):
        return False
    logger.warning("Similar-petition search: the FTS triggers were missing; reindexing.")
    with transaction.atomic(), connection.cursor() as cursor:
        sqlite_fts_install(cursor)
    return True


def _sqlite_scores(terms: list[str], where: _Where) -> list[tuple[int, float]]:
    sqlite_fts_repair()
    # Each word in double quotes is a plain string to FTS5 (even NEAR, OR, AND),
    # tokenized (stemmed) as the indexed text is. Words hold no quotes.
    weights = ", ".join(str(float(w)) for w in SQLITE_WEIGHTS)
    sql = f"""
        SELECT f.rowid, -bm25(petitions_petition_fts, {weights}) AS score
        FROM petitions_petition_fts f JOIN petitions_petition p ON p.id = f.rowid
        WHERE petitions_petition_fts MATCH %(match)s AND {where.sql()}
        ORDER BY score DESC, f.rowid DESC
        LIMIT %(limit)s
    """  # noqa: S608 - only constants are interpolated; the text is a parameter
    params = {
        "match": " OR ".join(f'"{term}"' for term in terms),
        "limit": CANDIDATES,
        **where.params(),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(pk, float(score)) for pk, score in cursor.fetchall()]


# --- PostgreSQL: full-text search and pg_trgm -------------------------------------------
#
# The migration (petitions 0003_search) creates these indexes; the query must
# use the very same vector expression for the planner to use the GIN index.

PG_VECTOR = (
    "(setweight(to_tsvector('english'::regconfig, {p}action), 'A')"
    " || setweight(to_tsvector('english'::regconfig, {p}background), 'B')"
    " || setweight(to_tsvector('english'::regconfig, {p}details), 'C'))"
)
PG_INSTALL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS petition_search_vector ON petitions_petition "
    f"USING gin ({PG_VECTOR.format(p='')})",
    "CREATE INDEX IF NOT EXISTS petition_action_trgm ON petitions_petition "
    "USING gin (action gin_trgm_ops)",
)
# The extension stays when the migration is reversed: other code may use it.
PG_UNINSTALL = (
    "DROP INDEX IF EXISTS petition_action_trgm",
    "DROP INDEX IF EXISTS petition_search_vector",
)

# bm25's term-frequency saturation (k1) on each word's ts_rank_cd, which
# counts an occurrence 1.0 in the action, 0.4 in the background, 0.2 in the
# details.
PG_SATURATION = 0.5
# A word of the text spelt like a word of a petition's action (pg_trgm's
# word_similarity at least 0.6) without being that word counts this much,
# times the similarity, against an exact match in the action.
PG_FUZZY_WEIGHT = 0.5
# Only rare words (names, typos) are matched by spelling, and only words this
# long: common or short words look like too many others.
PG_FUZZY_MAX_DF = 20
PG_FUZZY_MIN_LENGTH = 4
# A word spelt like the words of more actions than this tells nothing.
PG_FUZZY_MAX_MATCHES = 100
# Candidates are the petitions holding one of the rarest words, taken until
# about this many petitions (so a common word like "ban" cannot make every
# petition a candidate); every word of the text still counts in the ranking.
PG_POOL = 5_000
# Of those, the best by the words they hold are ranked on the full text.
PG_RERANK = 100
# Below this many petitions, document frequencies are counted; above it, the
# frequent words' come from the statistics ANALYZE keeps on the search index.
PG_ESTIMATE_FROM = 10_000


@dataclass
class _PgWord:
    term: str
    df: float  # petitions that contain it
    fuzzy_df: float = 0.0  # petitions whose action has a word spelt like it


def _idf(df: float, total: float) -> float:
    return math.log(1 + (total - df + 0.5) / (df + 0.5))


def _postgresql_scores(terms: list[str], where: _Where) -> list[tuple[int, float]]:
    """Two passes. First, from the indexes alone (no text read): the petitions
    holding the rarest words, or an action word spelt like one, scored by the
    inverse document frequencies of the words they hold. Then the best
    ``PG_RERANK`` of them are scored on all the words, weighted by field."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Compiling these short queries (their estimated cost can be high) would
        # take longer than running them.
        cursor.execute("SET LOCAL jit = off")
        return _postgresql_run(cursor, terms, where)


def _postgresql_run(cursor: Any, terms: list[str], where: _Where) -> list[tuple[int, float]]:
    words, total = _pg_frequencies(cursor, terms)
    if not words:
        return []
    retrieve: set[str] = set()
    pool = 0.0
    for word in sorted(words, key=lambda w: w.df):
        if retrieve and pool + word.df > PG_POOL:
            break
        retrieve.add(word.term)
        pool += word.df
    fuzzy = [w for w in words if 0 < w.fuzzy_df <= PG_FUZZY_MAX_MATCHES]
    vector = PG_VECTOR.format(p="p.")
    k1 = float(PG_SATURATION)
    sql = f"""
        WITH word AS (
            SELECT w.term, plainto_tsquery('english', w.term) AS q, w.idf, w.retrieve
            FROM unnest(%(terms)s::text[], %(idfs)s::float8[], %(retrieve)s::bool[])
                 AS w(term, idf, retrieve)
        ),
        fuzzy AS (
            SELECT f.term, f.idf
            FROM unnest(%(fuzzy_terms)s::text[], %(fuzzy_idfs)s::float8[]) AS f(term, idf)
        ),
        hit AS (
            SELECT h.id FROM (
                SELECT p.id, word.idf AS w
                FROM word CROSS JOIN LATERAL (
                    SELECT p.id FROM petitions_petition p
                    WHERE {vector} @@ word.q AND {where.sql()}
                ) p
                WHERE word.retrieve
                UNION ALL
                -- "action %%> word" is word_similarity(word, action) >= 0.6.
                SELECT p.id, %(fuzzy_weight)s * fuzzy.idf AS w
                FROM fuzzy CROSS JOIN LATERAL (
                    SELECT p.id FROM petitions_petition p
                    WHERE p.action %%> fuzzy.term AND {where.sql()}
                ) p
            ) h
            GROUP BY h.id
            ORDER BY sum(h.w) DESC, h.id DESC
            LIMIT %(rerank)s
        ),
        matched AS MATERIALIZED (
            SELECT p.id, {vector} AS v, p.action
            FROM hit JOIN petitions_petition p ON p.id = hit.id
        )
        SELECT m.id,
               (SELECT coalesce(sum(w.idf * r.rank * {1 + k1} / (r.rank + {k1})), 0)
                FROM word w CROSS JOIN LATERAL (SELECT ts_rank_cd(m.v, w.q) AS rank) r
                WHERE m.v @@ w.q)
               + %(fuzzy_weight)s * (
                SELECT coalesce(sum(f.idf * word_similarity(f.term, m.action)), 0)
                FROM fuzzy f
                WHERE f.term <%% m.action
                  AND NOT EXISTS (SELECT 1 FROM word w WHERE w.term = f.term AND m.v @@ w.q)
               ) AS score
        FROM matched m
        ORDER BY score DESC, m.id DESC
        LIMIT %(limit)s
    """  # noqa: S608 - only constants are interpolated; the words are parameters
    params: dict[str, Any] = {
        "terms": [w.term for w in words],
        "idfs": [_idf(w.df, total) for w in words],
        "retrieve": [w.term in retrieve for w in words],
        "fuzzy_terms": [w.term for w in fuzzy],
        "fuzzy_idfs": [_idf(w.fuzzy_df, total) for w in fuzzy],
        "fuzzy_weight": PG_FUZZY_WEIGHT,
        "rerank": PG_RERANK,
        "limit": CANDIDATES,
        **where.params(),
    }
    cursor.execute(sql, params)
    return [(pk, float(score)) for pk, score in cursor.fetchall()]


def _pg_frequencies(cursor: Any, terms: list[str]) -> tuple[list[_PgWord], float]:
    """The words PostgreSQL indexes (its own stop-words left out), each with
    the number of petitions holding it and, for rare words, the number whose
    action has a word spelt like it; and the number of petitions.

    In a large table a frequent word's count comes from the statistics that
    ANALYZE keeps on the search index; the others are counted (cheaply: they
    are rare, and the counts stop at the pool size).
    """
    vector = PG_VECTOR.format(p="p.")
    cursor.execute(
        f"""
        WITH total AS (
            SELECT CASE WHEN c.reltuples >= %(estimate_from)s AND s.most_common_elems IS NOT NULL
                        THEN c.reltuples::float8
                        ELSE (SELECT count(*) FROM petitions_petition)::float8 END AS n,
                   CASE WHEN c.reltuples >= %(estimate_from)s
                        THEN s.most_common_elems::text::text[] END AS elems,
                   s.most_common_elem_freqs AS freqs
            FROM pg_class c
            LEFT JOIN pg_stats s
              ON s.schemaname = current_schema() AND s.tablename = 'petition_search_vector'
            WHERE c.oid = 'petitions_petition'::regclass
        ),
        word AS (
            SELECT t.i, t.term,
                   (SELECT min(u.lexeme) FROM unnest(to_tsvector('english', t.term)) u) AS lexeme
            FROM unnest(%(terms)s::text[]) WITH ORDINALITY AS t(term, i)
        ),
        lexical AS MATERIALIZED (
            SELECT w.i, w.term, coalesce(
                (SELECT e.freq * total.n FROM unnest(total.elems, total.freqs) AS e(elem, freq)
                 WHERE e.elem = w.lexeme),
                (SELECT count(*) FROM (
                    SELECT 1 FROM petitions_petition p
                    WHERE {vector} @@ plainto_tsquery('english', w.term)
                    LIMIT %(cap)s) x)
            ) AS df
            FROM word w CROSS JOIN total
            WHERE w.lexeme IS NOT NULL
        )
        SELECT l.term, l.df,
               CASE WHEN length(l.term) >= %(fuzzy_min_length)s AND l.term !~ '^[0-9]+$'
                         AND l.df <= %(fuzzy_max_df)s
               THEN (SELECT count(*) FROM (
                        SELECT 1 FROM petitions_petition p WHERE p.action %%> l.term
                        LIMIT %(fuzzy_cap)s) y)
               ELSE 0 END,
               (SELECT n FROM total)
        FROM lexical l
        ORDER BY l.i
        """,  # noqa: S608 - only constants are interpolated; the words are parameters
        {
            "terms": terms,
            "estimate_from": PG_ESTIMATE_FROM,
            "cap": PG_POOL + 1,
            "fuzzy_min_length": PG_FUZZY_MIN_LENGTH,
            "fuzzy_max_df": PG_FUZZY_MAX_DF,
            "fuzzy_cap": PG_FUZZY_MAX_MATCHES + 1,
        },
    )
    rows = cursor.fetchall()
    words = [_PgWord(term, float(df), float(fuzzy)) for term, df, fuzzy, _ in rows]
    return words, float(rows[0][3]) if rows else 0.0
