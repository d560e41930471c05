"""The synthetic world behind the exports: reference data and the records of households, their members, helps
and follow-ups. :mod:`pipeline.generate.households` makes one household from them.

Every household is a pure function of (seed, global index), so chunks can be generated independently
and the output does not depend on the chunk size. Values are label *codes* of ``labels.toml``; the
file writers turn them into German labels. Contacts are generated vectorised in ``contacts.py``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from dataclasses import dataclass, field

from faker import Faker

# ---- reference data ---------------------------------------------------------------------------------

SITES = (("altenkirchen", 0.40), ("betzdorf", 0.35), ("wissen", 0.25))
# municipality numbers inside Landkreis Altenkirchen (AGS 07132xxx), partitioned over the three sites
_AGS_NUMBERS = (4, 6, 11, 14, 20, 23, 28, 36, 40, 45, 50, 56, 57, 63, 68, 70, 79, 85, 90, 96, 101, 106, 110, 114)
HOUSEHOLD_TYPES = (
    ("single", 0.30),
    ("single_parent", 0.28),
    ("couple_with_children", 0.27),
    ("couple_no_children", 0.10),
    ("other", 0.05),
)
REFUGEE_TYPES = (("couple_with_children", 0.45), ("single_parent", 0.25), ("single", 0.25), ("other", 0.05))
REFUGEE_COUNTRIES = (
    ("SYR", 0.33),
    ("AFG", 0.24),
    ("IRQ", 0.11),
    ("ERI", 0.08),
    ("UKR", 0.20),
    ("XXA", 0.02),
    ("XXX", 0.02),
)
EU_COUNTRIES = (("POL", 0.35), ("ROU", 0.30), ("BGR", 0.15), ("ITA", 0.10), ("HRV", 0.10))
OTHER_COUNTRIES = (("TUR", 0.55), ("RUS", 0.15), ("SRB", 0.15), ("MAR", 0.15))

# Transliterated name pools for refugee households (Faker has no Latin-script locale for them).
REFUGEE_NAMES = {
    "arabic": (
        ("Fatima", "Aisha", "Mariam", "Rania", "Huda", "Nour", "Layla", "Samira", "Amal", "Zainab", "Rasha", "Hiba"),
        ("Mohammad", "Ahmad", "Omar", "Khaled", "Hassan", "Yousef", "Ali", "Mahmoud", "Bilal", "Tarek", "Samer"),
        (
            "Al-Ahmad",
            "Haddad",
            "Khalil",
            "Hamdan",
            "Al-Hassan",
            "Ibrahim",
            "Suleiman",
            "Darwish",
            "Nasser",
            "Saleh",
            "Mansour",
            "Al-Khatib",
            "Youssef",
            "Qasim",
            "Abbas",
        ),
    ),
    "afghan": (
        ("Zahra", "Marzia", "Shabnam", "Farida", "Nargis", "Mahbooba", "Parwana", "Sima"),
        ("Ahmad", "Mohammad", "Farid", "Jawad", "Naweed", "Rahim", "Sayed", "Hamid", "Wahid"),
        ("Ahmadi", "Rahimi", "Hosseini", "Karimi", "Mohammadi", "Sultani", "Haidari", "Noori", "Sharifi", "Amiri"),
    ),
    "eritrean": (
        ("Senait", "Selam", "Helen", "Yordanos", "Saba", "Rahel", "Luwam"),
        ("Yonas", "Filmon", "Tesfay", "Samuel", "Dawit", "Berhane", "Habtom"),
        ("Tesfaye", "Haile", "Kidane", "Tekle", "Yohannes", "Mebrahtu", "Gebremedhin", "Ghebreab", "Weldu"),
    ),
    "ukrainian": (
        ("Olena", "Iryna", "Natalia", "Oksana", "Tetiana", "Yulia", "Kateryna", "Svitlana", "Anastasia"),
        ("Oleksandr", "Andrii", "Serhii", "Dmytro", "Volodymyr", "Mykola", "Ivan", "Maksym"),
        (
            "Kovalenko",
            "Shevchenko",
            "Bondarenko",
            "Tkachenko",
            "Kravchenko",
            "Melnyk",
            "Boyko",
            "Moroz",
            "Lysenko",
            "Savchenko",
            "Rudenko",
            "Marchenko",
        ),
    ),
}
NAME_GROUP = {
    "SYR": "arabic",
    "IRQ": "arabic",
    "XXA": "arabic",
    "XXX": "arabic",
    "AFG": "afghan",
    "ERI": "eritrean",
    "UKR": "ukrainian",
}
FAKER_LOCALE = {
    "DEU": "de_DE",
    "POL": "pl_PL",
    "ROU": "ro_RO",
    "BGR": "ro_RO",
    "ITA": "it_IT",
    "HRV": "hr_HR",
    "TUR": "tr_TR",
    "RUS": "de_DE",
    "SRB": "hr_HR",
    "MAR": "de_DE",
}

# help types per group code of labels.toml (weights), providers per help group
HELP_WEIGHTS = {
    "debt_counselling": 10,
    "insolvency_counselling": 2,
    "protected_account": 4,
    "energy_debts": 4,
    "priority_benefits": 6,
    "maintenance_advance": 3,
    "child_parental_benefit": 3,
    "gp_specialist": 6,
    "psychotherapy": 4,
    "addiction_counselling": 2,
    "psychosocial_care": 2,
    "medical_rehab": 1,
    "care_counselling": 1,
    "disability_card": 2,
    "kita_place": 6,
    "childminder": 1,
    "educational_assistance": 3,
    "parenting_counselling": 3,
    "early_help": 2,
    "school_social_work": 2,
    "education_participation": 5,
    "holiday_camp": 2,
    "housing_search": 5,
    "rent_arrears": 3,
    "relocation": 2,
    "housing_emergency": 1,
    "integration_course": 6,
    "migration_counselling": 5,
    "foreign_degree_recognition": 2,
    "residence_law": 2,
    "jobcenter_measure": 6,
    "internship": 3,
    "school_certificate": 2,
    "basic_education": 2,
    "application_support": 6,
    "violence_protection": 1,
    "mobility_licence": 3,
    "legal_advice": 1,
    "other": 2,
}
CHILD_HELP_GROUP = "children_family"
MIGRATION_HELP_GROUP = "migration"
PROVIDERS = {
    "finances": ("counselling_centre", "counselling_centre", "family_benefits_office", "social_office", "jobcenter"),
    "health": ("doctor_therapy", "doctor_therapy", "counselling_centre", "pension_insurance"),
    "children_family": ("youth_office", "youth_office", "school_kita", "family_benefits_office", "counselling_centre"),
    "housing": ("landlord", "social_office", "jobcenter", "counselling_centre"),
    "migration": ("immigration_office", "counselling_centre", "counselling_centre", "other"),
    "work_education": ("jobcenter", "jobcenter", "other", "counselling_centre"),
    "other": ("other", "counselling_centre", "other"),
}
HELP_FINAL_STATUS = (
    ("planned", 0.06),
    ("initiated", 0.10),
    ("started", 0.20),
    ("completed", 0.38),
    ("aborted", 0.09),
    ("refused_participant", 0.05),
    ("refused_provider", 0.04),
    ("waiting_list", 0.08),
)
COUNTED = ("initiated", "started", "completed", "aborted")

REGULAR_REASONS = (
    ("regular_end", 0.50),
    ("job_taken", 0.20),
    ("transition_measure", 0.15),
    ("training_school", 0.06),
    ("benefit_ended", 0.04),
    ("other", 0.05),
)
EARLY_REASONS = (
    ("job_taken", 0.22),
    ("moved", 0.14),
    ("illness", 0.10),
    ("pregnancy_parental_leave", 0.07),
    ("lack_of_cooperation", 0.20),
    ("exclusion", 0.04),
    ("benefit_ended", 0.12),
    ("transition_measure", 0.05),
    ("other", 0.06),
)
DESTINATIONS = {
    "job_taken": (
        ("employment_svp", 0.68),
        ("employment_marginal", 0.18),
        ("self_employed", 0.03),
        ("participation_16i", 0.06),
        ("integration_16e", 0.05),
    ),
    "transition_measure": (
        ("further_training_fbw", 0.25),
        ("language_course", 0.25),
        ("jobcenter_measure_45", 0.30),
        ("work_opportunity_16d", 0.12),
        ("participation_16i", 0.08),
    ),
    "training_school": (("vocational_training", 0.75), ("general_school", 0.25)),
    "benefit_ended": (("employment_svp", 0.45), ("inactive", 0.25), ("unknown", 0.30)),
    "moved": (("unknown", 0.60), ("job_seeking", 0.40)),
    "pregnancy_parental_leave": (("inactive", 1.0),),
    "illness": (("inactive", 0.6), ("job_seeking", 0.4)),
}
DEFAULT_DESTINATIONS = (
    ("job_seeking", 0.55),
    ("inactive", 0.20),
    ("jobcenter_measure_45", 0.10),
    ("employment_marginal", 0.05),
    ("unknown", 0.10),
)
FOLLOWUP_STATUS = {
    "employment_svp": "employed_svp",
    "employment_marginal": "employed_marginal",
    "self_employed": "self_employed",
    "participation_16i": "subsidised_16i_16e",
    "integration_16e": "subsidised_16i_16e",
    "vocational_training": "in_education",
    "general_school": "in_education",
    "further_training_fbw": "in_education",
    "language_course": "in_education",
    "jobcenter_measure_45": "job_seeking",
    "work_opportunity_16d": "job_seeking",
    "job_seeking": "job_seeking",
    "inactive": "inactive",
    "unknown": "unknown",
}
FOLLOWUP_ANY = ("employed_svp", "employed_marginal", "job_seeking", "job_seeking", "inactive", "in_education")


def pick(rng: random.Random, weighted) -> str:
    """One code of a ((code, weight), …) tuple."""
    x = rng.random() * sum(w for _, w in weighted)
    for code, w in weighted:
        x -= w
        if x < 0:
            return code
    return weighted[-1][0]


def add_months(d: dt.date, months: int) -> dt.date:
    """Calendar arithmetic of indicators.md (2020-08-31 + 6 months = 2021-02-28)."""
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _cp1252(s: str) -> bool:
    try:
        s.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class NamePools:
    female: dict[str, tuple[str, ...]]
    male: dict[str, tuple[str, ...]]
    last: dict[str, tuple[str, ...]]


def name_pools(seed: int, size: int = 300) -> NamePools:
    """Seeded Faker pools per name group (Windows-1252 encodable: the persons export is cp1252)."""
    female, male, last = {}, {}, {}
    for i, locale in enumerate(sorted(set(FAKER_LOCALE.values()))):
        fk = Faker(locale)
        fk.seed_instance(seed * 1000 + i)
        n = size if locale == "de_DE" else size // 4
        female[locale] = tuple(dict.fromkeys(x for x in (fk.first_name_female() for _ in range(n)) if _cp1252(x)))
        male[locale] = tuple(dict.fromkeys(x for x in (fk.first_name_male() for _ in range(n)) if _cp1252(x)))
        last[locale] = tuple(dict.fromkeys(x for x in (fk.last_name() for _ in range(2 * n)) if _cp1252(x)))
    for group, (f, m, ln) in REFUGEE_NAMES.items():
        female[group], male[group], last[group] = f, m, ln
    return NamePools(female, male, last)


def ags_codes(rural: list[str]) -> list[tuple[str, str, float]]:
    """(AGS, site code, weight): municipalities of Landkreis Altenkirchen, a few of them the configured rural ones."""
    out = []
    sites = [s for s, _ in SITES]
    for i, n in enumerate(_AGS_NUMBERS):
        out.append((f"07132{n:03d}", sites[i % 3], 3.0 if i < 3 else 1.0))
    for i, a in enumerate(rural):
        out.append((a, sites[i % 3], 0.6))
    return out


# ---- the records ------------------------------------------------------------------------------------


@dataclass
class Person:
    pid: str
    first: str
    last: str
    role: str
    gender: str
    birth: dt.date | None
    participant: bool = False
    esf_entry: dt.date | None = None
    esf_exit: dt.date | None = None
    citizenship: str = ""
    foreign: str = ""
    refugee: str = ""
    disability: str = ""
    minority: str = ""
    homeless: str = ""
    school: str = ""
    isced: str = ""
    vocational: str = ""
    employment: str = ""
    unemployed_since: dt.date | None = None
    ltb: bool | None = None
    consent: dt.date | None = None
    exit_reason: str = ""
    destination: str = ""
    destination_start: dt.date | None = None
    qualification: bool | None = None
    employability: str = ""


@dataclass
class Help:
    help_id: str
    help_type: str
    provider: str
    person_id: str
    events: list[tuple[str, dt.date]]  # (status code, date), first is 'planned' at creation

    def state(self, as_of: dt.date) -> tuple[str, dt.date | None, dt.date | None] | None:
        """(status, initiated date, status date) as recorded at ``as_of``; None if not yet created."""
        seen = [(s, d) for s, d in self.events if d <= as_of]
        if not seen:
            return None
        status, sdate = seen[-1]
        initiated = next((d for s, d in seen if s != "planned"), None)
        return status, initiated, sdate


@dataclass
class FollowUp:
    person_id: str
    reached: bool
    survey: dt.date | None
    status: str
    sgb2: str


@dataclass
class Household:
    index: int  # global index, 0-based
    hid: str
    bg_number: str
    cycle: str
    site: str
    ags: str
    htype: str
    referral: dt.date
    entry: dt.date
    exit: dt.date  # planned/actual end; recorded only once it is ≤ the snapshot date
    final_status: str
    coach: str
    profile: str  # topic profile: plain | family | refugee | refugee_family
    persons: list[Person] = field(default_factory=list)
    helps: list[Help] = field(default_factory=list)
    followups: list[FollowUp] = field(default_factory=list)

    def status(self, as_of: dt.date) -> tuple[str, dt.date | None]:
        if self.exit <= as_of:
            return self.final_status, self.exit
        return "active", None
