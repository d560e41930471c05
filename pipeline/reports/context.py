"""What every report writer needs: config, result, audience, disclosure rules, provenance lines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipeline.reports.disclosure import AUDIENCE_LABELS, Rules
from pipeline.reports.figures import FUNDING_NOTES, FUNDING_PERIOD_LABELS, Lookup, catalogue


def de_date(d: dt.date | None) -> str:
    return d.strftime("%d.%m.%Y") if d else "–"


@dataclass
class ReportContext:
    config: object
    result: object
    audience: str
    rules: Rules
    lk: Lookup
    created: dt.date = field(default_factory=dt.date.today)

    @classmethod
    def build(cls, config, result, audience: str) -> ReportContext:
        return cls(config, result, audience, Rules.for_audience(config, audience), Lookup(result.table))

    @property
    def project(self):
        return self.config.project

    @property
    def period(self):
        return self.result.period

    @property
    def funding_period(self) -> str:
        return self.result.funding_period

    @property
    def funding_periods(self) -> tuple[str, ...]:
        """Funding periods whose ESF set the report shows (both for a range across the change-over)."""
        return tuple(getattr(self.period, "funding_periods", ()) or (self.funding_period,))

    @property
    def period_label(self) -> str:
        p = self.period
        span = f"{de_date(p.start)} – {de_date(p.end)}"
        return f"Projektjahr {p.id} ({span})" if p.kind == "cycle" else f"Zeitraum {span}"

    @property
    def period_kind_note(self) -> str:
        if self.period.kind == "cycle":
            return ("Zyklusbericht: gezählt werden die Bedarfsgemeinschaften des Projektjahres (Kohorte) mit allen "
                    "Ereignissen bis zum Datenstand.")
        return "Zeitraumbericht: gezählt wird die Aktivität innerhalb des Zeitraums über alle Projektjahre."

    @property
    def funding_label(self) -> str:
        return " und ".join(FUNDING_PERIOD_LABELS.get(fp, fp) for fp in self.funding_periods)

    @property
    def funding_note(self) -> str:
        return FUNDING_NOTES.get(self.funding_period, FUNDING_NOTES["esfplus_2021_2027"])

    @property
    def audience_label(self) -> str:
        return AUDIENCE_LABELS[self.audience]

    @property
    def show_coach(self) -> bool:
        return self.audience == "intern"

    @property
    def public(self) -> bool:
        return self.audience == "oeffentlich"

    def snapshot_lines(self) -> list[tuple[str, str]]:
        from pipeline import model

        labels = {n: t.label for n, t in model.tables().items()}
        snaps = self.result.snapshots or {}
        return [(labels.get(n, n), de_date(snaps.get(n))) for n in model.tables()]

    def master_data(self) -> list[tuple[str, object]]:
        """Project master data and provenance for cover sheets and the PDF cover."""
        p = self.project
        cycle = getattr(self.period, "cycle", None)
        rows: list[tuple[str, object]] = [
            ("Projekt", p.name),
            ("Träger", p.carrier),
            ("Anschrift", p.address or "–"),
            ("Aktenzeichen / Bewilligung", p.file_number or "–"),
            ("Ansprechperson", p.contact or "–"),
            ("Förderung", "; ".join(p.funders)),
            ("Förderperiode", self.funding_label),
            ("Berichtszeitraum", self.period_label),
            ("Periodenlogik", self.period_kind_note),
        ]
        if cycle is not None:
            rows += [("Plätze", cycle.places), ("Coach-Stellen (VZÄ)", cycle.coach_fte)]
        rows += [("Datenstand", self.result.data_state)]
        rows += [(f"Stand der Daten: {t}", s) for t, s in self.snapshot_lines()]
        rows += [
            ("Erstellt am", self.created),
            ("Fassung / Kennzeichnung", self.audience_label),
            ("Hinweis", self.funding_note),
        ]
        return rows


def definitions(ids: list[str], config) -> list[tuple[str, str, str, str]]:
    """(id, label, unit, definition) for the annex, catalogue order, plus the configured open questions."""
    from pipeline.reports.figures import UNIT_LABELS, info

    try:
        order = [i.id for i in catalogue().indicators()]
    except (ImportError, AttributeError):
        order = list(ids)
    wanted = set(ids)
    rows = []
    for i in order:
        if i in wanted:
            inf = info(i)
            rows.append((i, inf.label, UNIT_LABELS.get(inf.unit, inf.unit), inf.definition))
    return rows


def settings_notes(config) -> list[str]:
    """The configured answers to the open questions of indicators.md, one German line each."""
    return ["Einstellungen dieses Berichts (offene Fragen an die Verwaltungsbehörde):"] + [
        f"{k}: {v}" for k, v in catalogue().settings_annex(config)
    ]
