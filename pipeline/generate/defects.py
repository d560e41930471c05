"""Realistic defects injected into the rows of the final snapshot, each recorded for ``defects.csv``.

The recorded column is the canonical column the validation is expected to report (the problem's
``column_name``): e.g. a referral date moved after the entry is reported on ``entry_date``; an age out of
range on ``age_at_esf_entry``; a possible duplicate person on ``person_id``. Mutations are chosen so that
they do not cascade into problems on other rows (e.g. an exit date added to an active household is the
snapshot date, so no contact falls outside the window).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from pipeline import model
from pipeline.generate.files import de_date, de_date_short
from pipeline.generate.world import add_months

KINDS = {
    "households": (
        "missing_required",
        "unknown_label",
        "bad_date",
        "bad_number",
        "date_order",
        "status_exit_mismatch",
        "members_mismatch",
    ),
    "persons": (
        "missing_required",
        "unknown_label",
        "bad_date",
        "date_order",
        "participant_missing_entry",
        "incomplete_esf",
        "age_out_of_range",
        "possible_duplicate_person",
    ),
    "contacts": (
        "missing_required",
        "unknown_label",
        "bad_date",
        "bad_number",
        "out_of_range",
        "duplicate_id",
        "broken_reference",
        "contact_outside_window",
    ),
    "helps": ("missing_required", "unknown_label", "bad_date", "date_order", "duplicate_id", "broken_reference"),
    "followups": ("missing_required", "unknown_label", "bad_date", "broken_reference"),
}
# each kind placed at least once (when the data allow it): kind -> table
FORCED = {
    "status_exit_mismatch": "households",
    "members_mismatch": "households",
    "bad_number": "households",
    "participant_missing_entry": "persons",
    "incomplete_esf": "persons",
    "age_out_of_range": "persons",
    "possible_duplicate_person": "persons",
    "date_order": "persons",
    "out_of_range": "contacts",
    "duplicate_id": "contacts",
    "broken_reference": "contacts",
    "contact_outside_window": "contacts",
    "bad_date": "contacts",
    "unknown_label": "contacts",
    "missing_required": "helps",
}
ALL_KINDS = tuple(sorted(FORCED))


def _idx(table: str) -> dict[str, int]:
    return {c.name: i for i, c in enumerate(model.tables()[table].columns)}


def _bad_date(rng: random.Random, year: int) -> str:
    return rng.choice((f"31.02.{year}", f"15.13.{year}", f"{year}-02-30", f"12.5.2O{year % 100:02d}", "32.01.20"))


def _as_date(v) -> dt.date | None:
    if isinstance(v, dt.date):
        return v
    if not v:
        return None
    s = str(v)
    if "-" in s:
        return dt.date.fromisoformat(s)
    d, m, y = s.split(".")
    yy = int(y)
    return dt.date(yy if len(y) == 4 else 2000 + yy, int(m), int(d))


@dataclass
class Injector:
    share: float
    seed: int
    records: list[tuple[str, int, str, str]] = field(default_factory=list)  # table, source_row, column, kind
    pending: dict[str, list[str]] = field(default_factory=dict)  # table -> forced kinds not yet placed
    last_key: dict[str, tuple[int, str]] = field(default_factory=dict)  # table -> (source_row, id) of last row

    def __post_init__(self) -> None:
        for kind, table in FORCED.items():
            self.pending.setdefault(table, []).append(kind)

    def inject(self, table: str, rows: list[list], ctx: list[dict], first_row: int, chunk: int) -> None:
        """Mutate ``rows`` in place (row i is spreadsheet row ``first_row + i``)."""
        if self.share <= 0 or not rows:
            self._remember(table, rows, first_row)
            return
        rng = random.Random(f"defects/{self.seed}/{table}/{chunk}")
        used: set[int] = set()
        order = list(range(len(rows)))
        rng.shuffle(order)
        for kind in list(self.pending.get(table, [])):
            for i in order:
                if i not in used and self._apply(table, kind, rows, ctx, i, first_row, rng):
                    used.add(i)
                    self.pending[table].remove(kind)
                    break
        kinds = KINDS[table]
        for i in range(len(rows)):
            if i in used or rng.random() >= self.share:
                continue
            for kind in rng.sample(kinds, len(kinds)):
                if self._apply(table, kind, rows, ctx, i, first_row, rng):
                    used.add(i)
                    break
        self._remember(table, rows, first_row)

    def _remember(self, table: str, rows: list[list], first_row: int) -> None:
        if rows:
            self.last_key[table] = (first_row + len(rows) - 1, rows[-1][0])

    def _rec(self, table: str, row: int, column: str, kind: str) -> bool:
        self.records.append((table, row, column, kind))
        return True

    # one function per table: returns True when the defect was applied
    def _apply(self, table, kind, rows, ctx, i, first_row, rng) -> bool:
        if isinstance(rows[i], tuple):
            rows[i] = list(rows[i])
        return getattr(self, f"_{table}")(kind, rows, ctx, i, first_row + i, rng)

    def _households(self, kind, rows, ctx, i, srow, rng) -> bool:
        x, row, c = _idx("households"), rows[i], ctx[i]
        t = "households"
        if kind == "missing_required":
            col = rng.choice(("project_cycle", "jobcenter_site", "household_type", "referral_date", "coach_id"))
            row[x[col]] = ""
            return self._rec(t, srow, col, kind)
        if kind == "unknown_label":
            col, val = rng.choice(
                (
                    ("household_type", "Einzelperson"),
                    ("jobcenter_site", "Hachenburg"),
                    ("household_type", "Wohngemeinschaft"),
                )
            )
            row[x[col]] = val
            return self._rec(t, srow, col, kind)
        if kind == "bad_date":
            col = rng.choice(("referral_date", "entry_date"))
            row[x[col]] = _bad_date(rng, c["entry"].year)
            return self._rec(t, srow, col, kind)
        if kind == "bad_number":
            row[x["n_members"]] = rng.choice(("drei", "2 Pers.", "ca. 4"))
            return self._rec(t, srow, "n_members", kind)
        if kind == "date_order":
            ref = c["entry"] + dt.timedelta(days=rng.randint(3, 20))
            row[x["referral_date"]] = ref if isinstance(row[x["referral_date"]], dt.date) else de_date(ref)
            return self._rec(t, srow, "entry_date", kind)
        if kind == "status_exit_mismatch":
            if row[x["exit_date"]] in ("", None):
                snap = c["snapshot"]
                row[x["exit_date"]] = snap if isinstance(row[x["entry_date"]], dt.date) else de_date(snap)
            else:
                row[x["exit_date"]] = ""
            return self._rec(t, srow, "exit_date", kind)
        if kind == "members_mismatch":
            n = row[x["n_members"]]
            row[x["n_members"]] = int(n) + 1 if isinstance(n, int) else str(int(n) + 1)
            return self._rec(t, srow, "n_members", kind)
        return False

    def _persons(self, kind, rows, ctx, i, srow, rng) -> bool:
        x, row, c = _idx("persons"), rows[i], ctx[i]
        t = "persons"
        part = c["participant"]
        if kind == "missing_required":
            col = rng.choice(("role", "gender"))
            row[x[col]] = ""
            return self._rec(t, srow, col, kind)
        if kind == "unknown_label":
            opts = [("gender", "w"), ("role", "Mutter")]
            if part and row[x["school_qualification"]]:
                opts.append(("school_qualification", "Realschule"))
            col, val = rng.choice(opts)
            row[x[col]] = val
            return self._rec(t, srow, col, kind)
        if kind == "bad_date":
            if part:
                row[x["consent_date"]] = _bad_date(rng, c["esf_entry"].year)
                return self._rec(t, srow, "consent_date", kind)
            if row[x["birth_date"]]:
                row[x["birth_date"]] = rng.choice(("30.02.85", "31.06.90", "00.00.00"))
                return self._rec(t, srow, "birth_date", kind)
            return False
        if not part:
            return False
        entry = c["esf_entry"]
        if kind == "date_order":
            row[x["consent_date"]] = de_date(entry + dt.timedelta(days=rng.randint(3, 30)))
            return self._rec(t, srow, "consent_date", kind)
        if kind == "participant_missing_entry":
            col = rng.choice(("esf_entry_date", "consent_date"))
            row[x[col]] = ""
            return self._rec(t, srow, col, kind)
        if kind == "incomplete_esf":
            cols = [
                n
                for n in (
                    "citizenship",
                    "school_qualification",
                    "vocational_qualification",
                    "homeless",
                    "long_term_benefit_recipient",
                    "employment_status_entry",
                )
                if row[x[n]]
            ]
            if not cols:
                return False
            col = rng.choice(cols)
            row[x[col]] = ""
            return self._rec(t, srow, col, kind)
        if kind == "age_out_of_range":
            age = rng.choice((13, 70, 72))
            birth = add_months(entry, -12 * age) - dt.timedelta(days=rng.randint(10, 200))
            row[x["birth_date"]] = de_date_short(birth)
            return self._rec(t, srow, "age_at_esf_entry", kind)
        if kind == "possible_duplicate_person":
            # same name and birth date as an earlier participant of another household in this chunk
            for j in range(i - 1, -1, -1):
                o = ctx[j]
                if not o["participant"] or o["household_id"] == c["household_id"] or not rows[j][x["birth_date"]]:
                    continue
                birth = o["birth"]
                age = (entry - birth).days / 365.25
                if not 17 <= age <= 65:
                    continue
                for col in ("first_name", "last_name", "birth_date"):
                    row[x[col]] = rows[j][x[col]]
                self._rec(t, srow - (i - j), "person_id", kind)
                return self._rec(t, srow, "person_id", kind)
            return False
        return False

    def _ref_defect(self, t, row, x, c, srow, rng) -> bool:
        if row[x["person_id"]] and rng.random() < 0.5 and c.get("foreign_pid"):
            row[x["person_id"]] = c["foreign_pid"]
            return self._rec(t, srow, "person_id", "broken_reference")
        row[x["household_id"]] = c["missing_hid"]
        row[x["person_id"]] = ""
        return self._rec(t, srow, "household_id", "broken_reference")

    def _duplicate(self, t, rows, i, srow) -> bool:
        if i > 0:
            prev_row, prev_id = srow - 1, rows[i - 1][0]
        elif t in self.last_key:
            prev_row, prev_id = self.last_key[t]
        else:
            return False
        if isinstance(rows[i], tuple):
            rows[i] = list(rows[i])
        rows[i][0] = prev_id
        key = model.tables()[t].key[0]
        self._rec(t, prev_row, key, "duplicate_id")
        return self._rec(t, srow, key, "duplicate_id")

    def _contacts(self, kind, rows, ctx, i, srow, rng) -> bool:
        x, row, c = _idx("contacts"), rows[i], ctx[i]
        t = "contacts"
        if kind == "missing_required":
            col = rng.choice(("contact_date", "duration_min", "contact_type", "took_place", "coach_id"))
            row[x[col]] = ""
            return self._rec(t, srow, col, kind)
        if kind == "unknown_label":
            if rng.random() < 0.5 and row[x["topics"]]:
                row[x["topics"]] += ",Steuern"
                return self._rec(t, srow, "topics", kind)
            row[x["contact_type"]] = rng.choice(("Hausbesuch kurz", "Treffen", "SMS"))
            return self._rec(t, srow, "contact_type", kind)
        if kind == "bad_date":
            row[x["contact_date"]] = _bad_date(rng, c["date"].year)
            return self._rec(t, srow, "contact_date", kind)
        if kind == "bad_number":
            row[x["duration_min"]] = rng.choice(("45 Min.", "ca. 30", "1,5 h"))
            return self._rec(t, srow, "duration_min", kind)
        if kind == "out_of_range":
            row[x["duration_min"]] = rng.choice(("900", "720", "-15"))
            return self._rec(t, srow, "duration_min", kind)
        if kind == "duplicate_id":
            return self._duplicate(t, rows, i, srow)
        if kind == "broken_reference":
            return self._ref_defect(t, row, x, c, srow, rng)
        if kind == "contact_outside_window":
            row[x["contact_date"]] = de_date(c["entry"] - dt.timedelta(days=rng.randint(10, 60)))
            return self._rec(t, srow, "contact_date", kind)
        return False

    def _helps(self, kind, rows, ctx, i, srow, rng) -> bool:
        x, row, c = _idx("helps"), rows[i], ctx[i]
        t = "helps"
        if kind == "missing_required":
            opts = ["help_type", "provider_category", "help_status"]
            if row[x["initiated_date"]]:
                opts.append("initiated_date")
            col = rng.choice(opts)
            row[x[col]] = ""
            return self._rec(t, srow, col, kind)
        if kind == "unknown_label":
            col, val = rng.choice(
                (("help_type", "Nachhilfe"), ("provider_category", "Caritas"), ("help_status", "erledigt"))
            )
            row[x[col]] = val
            return self._rec(t, srow, col, kind)
        if kind == "bad_date":
            if not row[x["initiated_date"]]:
                return False
            row[x["initiated_date"]] = _bad_date(rng, c["entry"].year)
            return self._rec(t, srow, "initiated_date", kind)
        if kind == "date_order":
            init = _as_date(row[x["initiated_date"]])
            if init is None or not row[x["status_date"]]:
                return False
            row[x["status_date"]] = de_date(init - dt.timedelta(days=rng.randint(3, 30)))
            return self._rec(t, srow, "status_date", kind)
        if kind == "duplicate_id":
            return self._duplicate(t, rows, i, srow)
        if kind == "broken_reference":
            return self._ref_defect(t, row, x, c, srow, rng)
        return False

    def _followups(self, kind, rows, ctx, i, srow, rng) -> bool:
        x, row = _idx("followups"), rows[i]
        t = "followups"
        if kind == "missing_required":
            row[x["reached"]] = ""
            return self._rec(t, srow, "reached", kind)
        if kind == "unknown_label":
            if row[x["employment_status_6m"]]:
                row[x["employment_status_6m"]] = "Minijob"
                return self._rec(t, srow, "employment_status_6m", kind)
            row[x["sgb2_receipt_6m"]] = "vielleicht"
            return self._rec(t, srow, "sgb2_receipt_6m", kind)
        if kind == "bad_date":
            if not row[x["survey_date"]]:
                return False
            row[x["survey_date"]] = _bad_date(rng, 2020)
            return self._rec(t, srow, "survey_date", kind)
        if kind == "broken_reference":
            row[x["person_id"]] = "P99999999" + str(rng.randint(1, 9))
            return self._rec(t, srow, "person_id", kind)
        return False
