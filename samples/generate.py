#!/usr/bin/env python3
"""Writes the ConsentFilter sample dataset: consent.csv, jurisdictions.csv, records.jsonl.

Deterministic (fixed seed, stdlib only): re-running reproduces the three files byte for byte.

    python3 samples/generate.py            # writes next to this script
    python3 samples/generate.py --map      # also prints which lines exercise what

See samples/README.md for what each file contains and which lines exercise which rule.
"""

import json
import os
import random
import sys

SEED = 20260501
TOTAL_LINES = 3000
OUT_DIR = os.path.dirname(os.path.abspath(__file__))

rng = random.Random(SEED)

# --------------------------------------------------------------------------------------------
# jurisdictions.csv
# --------------------------------------------------------------------------------------------

JURISDICTIONS = """code,regime,note
DE,opt-in,GDPR (sample)
FR,opt-out,listed twice on purpose: the most restrictive row (opt-in below) wins
FR,opt-in,GDPR (sample)
GB,opt-in,UK GDPR (sample)
 br , OPT-IN ,"LGPD (sample; code and regime are trimmed, case-insensitive)"
US,opt-out,"no federal law; US-TX, US-NY and other unlisted states fall back to this row"
US-CA,opt-out,CCPA/CPRA; GPC must be honoured (sample)
CN,excluded,PIPL (sample)
*,excluded,"fail-closed default for unknown or missing regions (AU, JP, empty...)"
"""

# --------------------------------------------------------------------------------------------
# consent.csv
# --------------------------------------------------------------------------------------------

HEADER = ["user_id", "region", "ai_training", "analytics", "gpc", "minor", "updated_at"]

SPELLINGS = {
    "granted": ["granted", "opted_in", "opt_in", "yes", "true", "1"],
    "denied": ["denied", "opted_out", "opt_out", "no", "false", "0"],
    "unset": ["", "unset", "none", "null"],
}
BOOL_SPELLINGS = {True: ["true", "1", "yes"], False: ["false", "0", "no", ""]}

# (region spelling as written, weight). Spellings vary in case and spacing on purpose.
BULK_REGIONS = [
    ("DE", 10), ("de", 2), ("FR", 6), (" fr ", 1), ("GB", 7), ("BR", 5), ("DE-BY", 2),
    ("US", 12), ("us", 2), ("US-CA", 10), ("us-ca", 2), ("US-TX", 6), ("US-NY", 4),
    ("CN", 4), ("AU", 2), ("JP", 2), ("", 7),
]
OPT_IN_REGIONS = {"DE", "FR", "GB", "BR", "DE-BY"}
OPT_OUT_REGIONS = {"US", "US-CA", "US-TX", "US-NY"}


def vary_case(text):
    """Randomly lower-cases, upper-cases or title-cases a value, sometimes padding it with spaces."""
    r = rng.random()
    if r < 0.12:
        text = text.upper()
    elif r < 0.20:
        text = text.title()
    if text and rng.random() < 0.10:
        text = rng.choice([" ", "  ", "\t"]) + text + rng.choice(["", " ", "  "])
    return text


def purpose_cell(state):
    return vary_case(rng.choice(SPELLINGS[state]))


def bool_cell(value):
    return vary_case(rng.choice(BOOL_SPELLINGS[value]))


def random_timestamp():
    """Mostly UTC 'Z' stamps; some without offset (= UTC), some with +02:00, some empty."""
    r = rng.random()
    if r < 0.08:
        return ""
    month = rng.randint(1, 6)
    day = rng.randint(1, 28)
    hour = rng.randint(0, 23)
    minute = rng.choice([0, 15, 30, 45])
    base = "2026-%02d-%02dT%02d:%02d:00" % (month, day, hour, minute)
    if r < 0.22:
        return base
    if r < 0.28:
        return base + "+02:00"
    return base + "Z"


def pick_weighted(pairs):
    total = sum(w for _, w in pairs)
    x = rng.randrange(total)
    for value, weight in pairs:
        if x < weight:
            return value
        x -= weight
    raise AssertionError


def bulk_user_row(user_id):
    region = pick_weighted(BULK_REGIONS)
    norm = region.strip().upper()
    if norm in OPT_IN_REGIONS:
        state = pick_weighted([("granted", 45), ("denied", 20), ("unset", 35)])
    elif norm in OPT_OUT_REGIONS:
        state = pick_weighted([("granted", 25), ("denied", 20), ("unset", 55)])
    else:
        state = pick_weighted([("granted", 50), ("denied", 20), ("unset", 30)])
    analytics = pick_weighted([("granted", 50), ("denied", 25), ("unset", 25)])
    gpc = norm in OPT_OUT_REGIONS and rng.random() < 0.22
    minor = rng.random() < 0.04
    return [user_id, region, purpose_cell(state), purpose_cell(analytics),
            bool_cell(gpc), bool_cell(minor), random_timestamp()]


# Hand-made users. Each tuple is one CSV row:
# (user_id, region, ai_training, analytics, gpc, minor, updated_at).
# Where a user has several rows, the comment gives the merge result (SPEC 2.2).
SPECIAL_ROWS = [
    # u0901: older grant superseded by a newer denial -> denied (not a conflict).
    ("u0901", "DE", "granted", "granted", "", "", "2026-01-10T09:00:00Z"),
    ("u0901", "DE", "denied", "granted", "", "", "2026-04-02T09:00:00Z"),
    # u0902: older denial superseded by a newer grant -> granted, US (not a conflict).
    ("u0902", "US", "denied", "yes", "no", "no", "2025-12-01T00:00:00Z"),
    ("u0902", "US", "Granted", "yes", "no", "no", "2026-03-15T08:30:00Z"),
    # u0903: moved from US (granted) to DE (unset); only the newer row counts -> DE, unset.
    ("u0903", "US", "granted", "", "", "", "2026-01-05T10:00:00Z"),
    ("u0903", "DE", "", "", "", "", "2026-02-05T10:00:00Z"),
    # u0904: two rows at the same latest time, granted vs denied -> denied (conflict).
    ("u0904", "US", "granted", "no", "0", "0", "2026-05-01T10:00:00Z"),
    ("u0904", "US", "denied", "no", "0", "0", "2026-05-01T10:00:00Z"),
    # u0905: same latest time, two home regions and granted vs unset -> US+DE, unset (conflict).
    ("u0905", "US", "granted", "", "", "", "2026-04-20T12:00:00Z"),
    ("u0905", "DE", "unset", "", "", "", "2026-04-20T12:00:00Z"),
    # u0906: 12:00Z and 14:00+02:00 are the same instant -> both count, denied (conflict).
    ("u0906", "DE", "opt_out", "1", "", "", "2026-01-01T00:00:00Z"),
    ("u0906", "DE", "granted", "1", "", "", "2026-03-01T12:00:00Z"),
    ("u0906", "DE", "denied", "1", "", "", "2026-03-01T14:00:00+02:00"),
    # u0907: an undated denial cannot be proven outdated by a dated grant -> denied (conflict).
    ("u0907", "US-CA", "denied", "granted", "false", "false", ""),
    ("u0907", "US-CA", "granted", "granted", "false", "false", "2026-02-01T00:00:00Z"),
    # u0908: undated unset plus dated grant in DE -> unset (conflict) -> no_opt_in.
    ("u0908", "DE", "none", "", "", "", ""),
    ("u0908", "DE", "opted_in", "", "", "", "2026-02-14T16:45:00Z"),
    # u0909: same latest time, gpc true vs false, consent unset -> gpc true (conflict).
    ("u0909", "US", "unset", "", "TRUE", "", "2026-03-03T03:03:00Z"),
    ("u0909", "US", "null", "", "false", "", "2026-03-03T03:03:00Z"),
    # u0910: same latest time, minor true vs false -> minor (conflict).
    ("u0910", "US", "granted", "granted", "", "yes", "2026-04-01T00:00:00"),
    ("u0910", "US", "granted", "granted", "", "no", "2026-04-01T00:00:00Z"),
    # u0911: two rows equal once normalized (" YES " = granted, "us" = US) -> no conflict.
    ("u0911", "us", "granted", "0", "", "", "2026-02-02T02:02:00Z"),
    ("u0911", "US", " YES ", "0", "", "", "2026-02-02T02:02:00Z"),
    # u0912: was a minor, a newer row says no longer -> not minor, granted.
    ("u0912", "US-TX", "granted", "", "", "true", "2025-11-01T00:00:00Z"),
    ("u0912", "US-TX", "granted", "", "", "false", "2026-05-20T00:00:00Z"),
    # u0913: no-offset 12:00 (UTC) is newer than 13:00+02:00 (= 11:00Z) -> denied.
    ("u0913", "GB", "granted", "", "", "", "2026-03-01T13:00:00+02:00"),
    ("u0913", "GB", "denied", "", "", "", "2026-03-01T12:00:00"),
    # u0914: GPC signal but an explicit grant in US-CA -> allowed (explicit choice beats GPC).
    ("u0914", "US-CA", "granted", "", "true", "", "2026-05-02T00:00:00Z"),
    # u0915: GPC signal, consent unset, US-CA -> gpc_opt_out.
    ("u0915", "us-ca", "", "", " TRUE ", "", "2026-05-02T00:00:00Z"),
    # u0916: US-TX is not in the sample table: falls back to US (opt-out); unset, no GPC -> allowed.
    ("u0916", "US-TX", "unset", "", "", "", "2026-05-03T00:00:00Z"),
    # u0917: DE-BY falls back to DE (opt-in); unset -> no_opt_in.
    ("u0917", "de-by", "unset", "", "", "", "2026-05-03T00:00:00Z"),
    # u0918: US, unset, no GPC -> allowed, unless the record's region is stricter.
    ("u0918", "US", "", "", "0", "0", "2026-05-04T00:00:00Z"),
    # u0919: no home region, granted -> "*" (excluded) unless the record gives a region.
    ("u0919", "", "granted", "", "", "", "2026-05-04T00:00:00Z"),
    # u0920: CN, granted -> excluded whatever the consent.
    ("u0920", "CN", "granted", "granted", "", "", "2026-05-04T00:00:00Z"),
    # 1040 (numeric id): older grant superseded by a newer denial -> denied.
    ("1040", "US", "1", "1", "0", "0", "2026-01-01T00:00:00Z"),
    ("1040", "US", "0", "1", "0", "0", "2026-04-01T00:00:00Z"),
    # Ids that stress exact matching.
    ("-7", "GB", "granted", "", "", "", "2026-05-05T00:00:00Z"),
    ("12345678901234567890", "US", "granted", "", "", "", "2026-05-05T00:00:00Z"),
    ("u,0400", "FR", "granted", "", "", "", "2026-05-05T00:00:00Z"),
    ("us\u00e9r-0402", "BR", "granted", "", "", "", "2026-05-05T00:00:00Z"),  # NFC "usér-0402"
]


FORCE_QUOTED = {"u0007", "1003"}


def csv_cell(value):
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def build_consent():
    rows = []
    for i in range(1, 339):
        rows.append(bulk_user_row("u%04d" % i))
    for i in range(1001, 1040):
        rows.append(bulk_user_row(str(i)))
    for r in SPECIAL_ROWS:
        rows.append(list(r))
    lines = [",".join(HEADER)]
    for r in rows:
        cells = [csv_cell(c) for c in r]
        if r[0] in FORCE_QUOTED:
            # Quoting a cell that needs none is valid RFC 4180; the loader must unquote it.
            cells = ['"' + c + '"' if not c.startswith('"') else c for c in cells[:2]] + cells[2:]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n", rows


# --------------------------------------------------------------------------------------------
# records.jsonl
# --------------------------------------------------------------------------------------------

TEXTS = [
    "Just finished my morning run.",
    "Meet me at the café at noon.",
    "Great game tonight \U0001F389",
    "Naïve question: how does this work?",
    "Grüße aus München!",
    "東京は今日も晴れです。",
    "¿Dónde está la biblioteca?",
    "Ship it \U0001F680",
    "She said \"hello\" and left.",
    "Path is C:\\temp\\notes.txt",
    "Looking for a good book recommendation.",
    "The train was late again.",
    "New recipe: lemon tart with thyme.",
    "Happy birthday, Zoë! \U0001F382",
    "Anyone going to the meetup on Friday?",
    "Crème brûlée is underrated.",
    "Thanks for the help yesterday.",
    "Привет из Москвы",
    "Rain all week. ☔",
    "First post here, be kind.",
    "Tab\tseparated\tthoughts (escaped, so valid).",
    "Line one\nline two (escaped newline).",
]
LANGS = ["en", "en", "en", "fr", "de", "pt", "ja", "es"]
RECORD_REGIONS = [
    ("US", 8), ("us-ca", 6), ("US-TX", 4), ("de", 6), ("FR", 4), ("GB", 4),
    ("BR", 3), ("cn", 3), (" us-ca ", 2), ("AU", 2), ("", 1),
]


def record_bytes(obj, style):
    if style == 0:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    elif style == 1:
        text = json.dumps(obj, ensure_ascii=False)
    else:
        text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"))
    return text.encode("utf-8")


class Line:
    """One physical line: bytes made from the line number, an optional CRLF ending and a label."""

    def __init__(self, make, label=None, crlf=False):
        self.make = make
        self.label = label
        self.crlf = crlf


def rid(n):
    return "r%06d" % n


def valid(fields, label=None, style=None, crlf=False, with_id=True):
    """A well-formed record; `fields` are the keys after "id" (which is the line number)."""
    chosen_style = rng.randrange(3) if style is None else style

    def make(n):
        obj = {"id": rid(n)} if with_id else {}
        obj.update(fields)
        return record_bytes(obj, chosen_style)

    return Line(make, label, crlf)


def raw(template, label):
    """A hand-written line; {ID} becomes the line's record id."""
    def make(n):
        return template.replace(b"{ID}", rid(n).encode("ascii"))
    return Line(make, label)


def snapshot_ids(rows):
    seen = []
    known = set()
    for r in rows:
        if r[0] not in known:
            known.add(r[0])
            seen.append(r[0])
    return seen


def id_value(user_id):
    """Numeric ids are written as JSON integers 60% of the time (42 is the same user as "42")."""
    if user_id.lstrip("-").isdigit() and rng.random() < 0.6:
        return int(user_id)
    return user_id


UNKNOWN_IDS = ["ghost-%04d" % i for i in range(1, 41)] + ["U0001", "U0002", "u00001", "999999"]


def bulk_record(users):
    fields = {}
    if rng.random() < 0.05:
        author = rng.choice(UNKNOWN_IDS)
    else:
        author = rng.choice(users)
    fields["user_id"] = id_value(author)
    if rng.random() < 0.35:
        fields["region"] = pick_weighted(RECORD_REGIONS)
    fields["text"] = rng.choice(TEXTS)
    if rng.random() < 0.15:
        count = rng.choice([1, 1, 1, 2, 2, 3])
        recips = []
        for _ in range(count):
            r = rng.choice(UNKNOWN_IDS) if rng.random() < 0.06 else rng.choice(users)
            recips.append(id_value(r))
        fields["recipients"] = recips
    if rng.random() < 0.3:
        meta = {"lang": rng.choice(LANGS)}
        if rng.random() < 0.2:
            meta["source"] = {"app": rng.choice(["web", "ios", "android"])}
        fields["meta"] = meta
    return valid(fields)


def nested(depth, inner=b"{}"):
    """`depth` nested objects: nested(1) is {}."""
    text = inner
    for _ in range(depth - 1):
        text = b'{"a":' + text + b"}"
    return text


def scenario_lines():
    """Records with a known outcome (the label says which rule they exercise)."""
    S = []
    add = S.append
    # Authors: one per drop reason, and some that are kept.
    add(valid({"user_id": "ghost-0099", "text": "Who am I?"}, "unknown_user: author not in the snapshot"))
    add(valid({"user_id": "U0001", "text": "Case matters."}, "unknown_user: U0001 is not u0001 (ids are case-sensitive)"))
    add(valid({"user_id": "use\u0301r-0402", "text": "Decomposed."}, "unknown_user: NFD spelling of usér-0402 (ids are never normalized)"))
    add(valid({"user_id": "us\u00e9r-0402", "text": "Composed."}, "kept: NFC usér-0402 (BR, granted)"))
    add(valid({"user_id": "u0910", "text": "Homework done."}, "minor: u0910, merged rows say minor"))
    add(valid({"user_id": "u0912", "text": "Turned 18!"}, "kept: u0912, newer row says no longer a minor (US-TX -> US)"))
    add(valid({"user_id": "u0920", "text": "Hello."}, "region_excluded: home CN, even though granted"))
    add(valid({"user_id": "u0919", "text": "Nowhere."}, "region_excluded: no home region, no record region -> *"))
    add(valid({"user_id": "u0919", "region": "us", "text": "Somewhere."}, "kept: no home region, record region US (opt-out), granted"))
    add(valid({"user_id": "u0902", "region": "cn", "text": "Travelling."}, "region_excluded: home US but record region CN (stricter wins)"))
    add(valid({"user_id": "u0902", "region": "", "text": "Empty region."}, "region_excluded: record region \"\" resolves to *"))
    add(valid({"user_id": "u0902", "region": "AU", "text": "G'day."}, "region_excluded: record region AU not in table -> *"))
    add(valid({"user_id": "u0901", "text": "Changed my mind."}, "opted_out: u0901, newer denial supersedes older grant"))
    add(valid({"user_id": "u0902", "text": "Changed my mind too."}, "kept: u0902, newer grant supersedes older denial"))
    add(valid({"user_id": "u0903", "text": "Moved to Germany."}, "no_opt_in: u0903, only the newer DE row counts"))
    add(valid({"user_id": "u0904", "text": "Conflicted."}, "opted_out: u0904, same-time granted vs denied merge to denied"))
    add(valid({"user_id": "u0905", "text": "Two homes."}, "no_opt_in: u0905, home regions US and DE both apply"))
    add(valid({"user_id": "u0906", "text": "Same instant."}, "opted_out: u0906, 12:00Z and 14:00+02:00 tie"))
    add(valid({"user_id": "u0907", "text": "Undated."}, "opted_out: u0907, undated denial still counts"))
    add(valid({"user_id": "u0908", "text": "Undated unset."}, "no_opt_in: u0908, undated unset merges with dated grant"))
    add(valid({"user_id": "u0909", "text": "Signal."}, "gpc_opt_out: u0909, merged gpc true, unset, US"))
    add(valid({"user_id": "u0911", "text": "Same twice."}, "kept: u0911, duplicate rows equal after normalization"))
    add(valid({"user_id": "u0913", "text": "Offsets."}, "opted_out: u0913, 12:00 (no offset = UTC) is newer than 13:00+02:00"))
    add(valid({"user_id": "u0914", "region": "us-ca", "text": "I said yes."}, "kept: u0914, GPC but explicit grant"))
    add(valid({"user_id": "u0915", "text": "Do not sell."}, "gpc_opt_out: u0915, GPC and unset in US-CA"))
    add(valid({"user_id": "u0916", "text": "Howdy."}, "kept: u0916, US-TX falls back to US (opt-out), unset, no GPC"))
    add(valid({"user_id": "u0917", "text": "Servus."}, "no_opt_in: u0917, DE-BY falls back to DE (opt-in), unset"))
    add(valid({"user_id": "u0918", "text": "Stateside."}, "kept: u0918, US unset without GPC"))
    add(valid({"user_id": "u0918", "region": "de", "text": "Visiting Berlin."}, "no_opt_in: u0918, record region DE is stricter than home US"))
    add(valid({"user_id": "u0918", "region": " us-ca ", "text": "Back in LA."}, "kept: u0918, record region ' us-ca ' trimmed and upper-cased"))
    add(valid({"user_id": "u0917", "region": "US", "text": "Abroad."}, "no_opt_in: u0917, home DE-BY stricter than record region US"))
    add(valid({"user_id": 1040, "text": "Integer id."}, "opted_out: 1040 as a JSON integer is user \"1040\"", style=0))
    add(valid({"user_id": "1040", "text": "String id."}, "opted_out: \"1040\" as a JSON string"))
    add(valid({"user_id": -7, "text": "Negative id."}, "kept: -7 is user \"-7\" (GB, granted)", style=0))
    add(valid({"user_id": 12345678901234567890, "text": "Big id."}, "kept: integer beyond Int64 is user \"12345678901234567890\"", style=0))
    add(valid({"user_id": "u,0400", "text": "Comma id."}, "kept: user \"u,0400\" (quoted in consent.csv)"))
    add(raw(b'{"id":"{ID}","user_id":"u\\u0030902","text":"Escaped id."}', "kept: \"u\\u0030902\" decodes to u0902"))
    add(valid({"user_id": "u0904", "text": "No id here."}, "opted_out: record without an id (log has no id)", with_id=False))
    add(valid({"user_id": "u0911", "text": "Windows line ending."}, "kept: line ends with CRLF", crlf=True))
    add(raw(b'{"id":"{ID}","user_id":"u0902","text":"Deep but fine.","deep":' + nested(63) + b"}",
            "kept: nesting exactly 64 levels"))
    add(raw(b'{"id":"{ID}","user_id":"u0902","text":"Dup elsewhere.","meta":{"lang":"en","lang":"fr"}}',
            "kept: duplicate key outside the decision paths is fine"))
    # Co-subjects (run with --subject-field recipients).
    add(valid({"user_id": "u0902", "text": "Hi all.", "recipients": ["u0911", 1040]},
              "opted_out (co_subject 2): 1040 denied; author u0902 allowed"))
    add(valid({"user_id": "u0902", "text": "Hi ghost.", "recipients": ["u0914", "ghost-0098"]},
              "unknown_user (co_subject 2): ghost-0098 after allowed u0914"))
    add(valid({"user_id": "u0902", "text": "Hi kid.", "recipients": ["u0910"]}, "minor (co_subject 1): recipient u0910 is a minor"))
    add(valid({"user_id": "u0902", "text": "Hi China.", "recipients": ["u0920"]}, "region_excluded (co_subject 1): recipient u0920 lives in CN"))
    add(valid({"user_id": "u0902", "text": "Hi Bavaria.", "recipients": ["u0917"]}, "no_opt_in (co_subject 1): recipient u0917 (DE-BY) has not opted in"))
    add(valid({"user_id": "u0902", "text": "Hi LA.", "recipients": ["u0915"]}, "gpc_opt_out (co_subject 1): recipient u0915 sent GPC"))
    add(valid({"user_id": "u0902", "text": "Hi Texas.", "region": "de", "recipients": ["u0916"]},
              "no_opt_in (co_subject 1): record region DE applies to recipient u0916 too"))
    add(valid({"user_id": "u0902", "text": "Hi friends.", "recipients": ["u0911", "u0914", "u0916"]},
              "kept: author and all three co-subjects allowed"))
    add(valid({"user_id": "u0902", "text": "Single recipient.", "recipients": "u0914"},
              "kept: co-subject field holding one id, not an array"))
    add(valid({"user_id": "u0902", "text": "Nobody.", "recipients": []}, "kept: empty co-subject array"))
    add(valid({"user_id": "u0901", "text": "Both fail.", "recipients": ["u0920"]},
              "opted_out (author): u0901 denied and recipient u0920 excluded; the first failing subject is reported"))
    return S


def malformed_lines():
    M = []
    add = M.append
    # invalid_utf8 (raw bytes; the file is written in binary mode)
    add(raw(b'{"id":"{ID}","user_id":"u\xff1","text":"bad byte in id"}', "invalid_utf8: 0xFF in user_id"))
    add(raw(b'{"id":"{ID}","user_id":"u0002","text":"caf\xe9 in Latin-1"}', "invalid_utf8: Latin-1 byte"))
    add(raw(b'{"id":"{ID}","user_id":"u0003","text":"overlong \xc0\xaf slash"}', "invalid_utf8: overlong encoding"))
    add(raw(b'{"id":"{ID}","user_id":"u0004","text":"surrogate \xed\xa0\x80 bytes"}', "invalid_utf8: encoded surrogate"))
    # invalid_json
    add(raw(b'{"id":"{ID}","user_id":"u0005","text":"trailing comma",}', "invalid_json: trailing comma"))
    add(raw(b'{"id":"{ID}","user_id":"u0005" /* comment */,"text":"c"}', "invalid_json: comment"))
    add(raw(b'{"id":"{ID}","user_id":"u0006","score":NaN}', "invalid_json: NaN"))
    add(raw(b'{"id":"{ID}","user_id":"u0006","score":-Infinity}', "invalid_json: -Infinity"))
    add(raw(b"{'id':'{ID}','user_id':'u0007','text':'single quotes'}", "invalid_json: single quotes"))
    add(raw(b'{"id":"{ID}","user_id":"u0008","text":"truncated obj', "invalid_json: truncated object"))
    add(raw(b'{"id":"{ID}","user_id":"u0008"} {"id":"extra"}', "invalid_json: data after the object"))
    add(raw(b'{"id":"{ID}","user_id":"u0009","text":"raw\ttab"}', "invalid_json: raw control character in a string"))
    add(raw(b'\xef\xbb\xbf{"id":"{ID}","user_id":"u0009","text":"BOM mid-file"}', "invalid_json: BOM not at the start of the file"))
    # not_object
    add(raw(b'["{ID}","u0010"]', "not_object: array"))
    add(raw(b"42", "not_object: number"))
    add(raw(b'"just a string"', "not_object: string"))
    add(raw(b"null", "not_object: null"))
    # too_deep
    add(raw(b'{"id":"{ID}","user_id":"u0011","nest":' + nested(69) + b"}", "too_deep: 70 levels"))
    add(raw(b'{"id":"{ID}","user_id":"u0011","nest":' + nested(64) + b"}", "too_deep: 65 levels (one too many)"))
    # missing_user_id
    add(raw(b'{"id":"{ID}","text":"no user"}', "missing_user_id: absent"))
    add(raw(b'{"id":"{ID}","user_id":"","text":"empty"}', "missing_user_id: \"\""))
    add(raw(b'{"id":"{ID}","user_id":null,"text":"null"}', "missing_user_id: null"))
    # bad_user_id_type
    add(raw(b'{"id":"{ID}","user_id":true,"text":"bool"}', "bad_user_id_type: true"))
    add(raw(b'{"id":"{ID}","user_id":4.2e1,"text":"exponent"}', "bad_user_id_type: 4.2e1"))
    add(raw(b'{"id":"{ID}","user_id":1001.0,"text":"fraction"}', "bad_user_id_type: 1001.0"))
    add(raw(b'{"id":"{ID}","user_id":{"v":"u0012"},"text":"object"}', "bad_user_id_type: object"))
    add(raw(b'{"id":"{ID}","user_id":["u0012"],"text":"array"}', "bad_user_id_type: array"))
    # bad_region_type
    add(raw(b'{"id":"{ID}","user_id":"u0013","region":null,"text":"r"}', "bad_region_type: null"))
    add(raw(b'{"id":"{ID}","user_id":"u0013","region":5,"text":"r"}', "bad_region_type: 5"))
    add(raw(b'{"id":"{ID}","user_id":"u0013","region":["DE"],"text":"r"}', "bad_region_type: array"))
    # bad_subject_type (with --subject-field recipients)
    add(raw(b'{"id":"{ID}","user_id":"u0014","text":"s","recipients":[["u0015"]]}', "bad_subject_type: nested array"))
    add(raw(b'{"id":"{ID}","user_id":"u0014","text":"s","recipients":null}', "bad_subject_type: null"))
    add(raw(b'{"id":"{ID}","user_id":"u0014","text":"s","recipients":[""]}', "bad_subject_type: empty id in array"))
    add(raw(b'{"id":"{ID}","user_id":"u0014","text":"s","recipients":[{"id":"u0015"}]}', "bad_subject_type: object element"))
    add(raw(b'{"id":"{ID}","user_id":"u0014","text":"s","recipients":[true]}', "bad_subject_type: boolean element"))
    # duplicate_key
    add(raw(b'{"id":"{ID}","user_id":"u0016","text":"d","user_id":"u0017"}', "duplicate_key: user_id twice"))
    add(raw(b'{"id":"{ID}","user_id":"u0016","region":"US","region":"DE","text":"d"}', "duplicate_key: region twice"))
    add(raw(b'{"id":"{ID}","user_id":"u0016","recipients":["u0017"],"text":"d","recipients":[]}', "duplicate_key: recipients twice"))
    return M


def blank_lines():
    return [Line(lambda n: b"", "blank: empty line"),
            Line(lambda n: b"    ", "blank: spaces"),
            Line(lambda n: b" \t \t", "blank: spaces and tabs")]


def build_records(consent_rows):
    users = snapshot_ids(consent_rows)
    specials = scenario_lines() + malformed_lines() + blank_lines()
    bulk_count = TOTAL_LINES - len(specials)
    lines = [bulk_record(users) for _ in range(bulk_count)]
    # Scatter the special lines; keep the first and last 20 lines ordinary records.
    for special in specials:
        lines.insert(rng.randrange(20, len(lines) - 20), special)
    out = bytearray()
    labels = []
    for n, line in enumerate(lines, start=1):
        out += line.make(n)
        out += b"\r\n" if line.crlf else b"\n"
        if line.label:
            labels.append((n, line.label))
    return bytes(out), labels


def main():
    consent_text, consent_rows = build_consent()
    records, labels = build_records(consent_rows)
    with open(os.path.join(OUT_DIR, "jurisdictions.csv"), "wb") as f:
        f.write(JURISDICTIONS.encode("utf-8"))
    with open(os.path.join(OUT_DIR, "consent.csv"), "wb") as f:
        f.write(consent_text.encode("utf-8"))
    with open(os.path.join(OUT_DIR, "records.jsonl"), "wb") as f:
        f.write(records)
    if "--map" in sys.argv[1:]:
        for n, label in sorted(labels):
            print("%5d  %s" % (n, label))


if __name__ == "__main__":
    main()
