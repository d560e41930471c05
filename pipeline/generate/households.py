"""The generator of one household: its members, ESF fields, helps and follow-ups, a pure function of (seed,
global index) over the reference data and records of :mod:`pipeline.generate.world`."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from pipeline.generate.world import (
    CHILD_HELP_GROUP,
    COUNTED,
    DEFAULT_DESTINATIONS,
    DESTINATIONS,
    EARLY_REASONS,
    EU_COUNTRIES,
    FAKER_LOCALE,
    FOLLOWUP_ANY,
    FOLLOWUP_STATUS,
    HELP_FINAL_STATUS,
    HELP_WEIGHTS,
    HOUSEHOLD_TYPES,
    MIGRATION_HELP_GROUP,
    NAME_GROUP,
    OTHER_COUNTRIES,
    PROVIDERS,
    REFUGEE_COUNTRIES,
    REFUGEE_TYPES,
    REGULAR_REASONS,
    FollowUp,
    Help,
    Household,
    NamePools,
    Person,
    add_months,
    pick,
)

# ---- the generator of one household -------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Everything a household needs to know about the whole run."""

    seed: int
    cycles: tuple[tuple[str, dt.date, dt.date, int, int], ...]  # (id, start, end, first index, count)
    snapshot: dt.date
    pools: NamePools
    ags: tuple[tuple[str, str, float], ...]
    id_width: int


def _age_date(rng: random.Random, ref: dt.date, age_lo: int, age_hi: int) -> dt.date:
    """A birth date such that the age at ``ref`` lies in [age_lo, age_hi]."""
    days = rng.randint(age_lo * 365 + 1, age_hi * 365 + 360)
    return ref - dt.timedelta(days=days)


def _name(rng: random.Random, pools: NamePools, group: str, gender: str) -> str:
    pool = (
        pools.female[group]
        if gender == "female" or (gender not in ("male",) and rng.random() < 0.5)
        else (pools.male[group])
    )
    return rng.choice(pool)


def make_household(plan: Plan, index: int) -> Household:
    rng = random.Random(f"esf-gen/{plan.seed}/{index}")
    cyc = next(c for c in plan.cycles if c[3] <= index < c[3] + c[4])
    cid, cstart, cend, first, _count = cyc
    hid = f"BG-{cid}-{index - first + 1:0{plan.id_width}d}"
    span = max(1, (cend - cstart).days - 75)
    referral = cstart + dt.timedelta(days=rng.randint(-14, span))
    entry = min(referral + dt.timedelta(days=rng.randint(5, 35)), cend)
    entry = max(entry, cstart)
    r = rng.random()
    if r < 0.03:
        final, exit_ = "not_started", entry + dt.timedelta(days=rng.randint(0, 21))
    elif r < 0.25:
        final, exit_ = "ended_early", entry + dt.timedelta(days=rng.randint(30, 250))
    else:
        final, exit_ = "ended_regular", entry + dt.timedelta(days=rng.randint(300, 400))
    ags, site, _w = rng.choices(plan.ags, weights=[a[2] for a in plan.ags])[0]
    coach = {"altenkirchen": "C01", "betzdorf": "C02"}.get(site) or rng.choice(("C01", "C03"))

    origin = rng.random()
    if origin < 0.25:
        kind, country = "refugee", pick(rng, REFUGEE_COUNTRIES)
        htype = pick(rng, REFUGEE_TYPES)
    else:
        kind = "eu" if origin < 0.35 else "other" if origin < 0.42 else "german"
        country = {"eu": lambda: pick(rng, EU_COUNTRIES), "other": lambda: pick(rng, OTHER_COUNTRIES)}.get(
            kind, lambda: "DEU"
        )()
        htype = pick(rng, HOUSEHOLD_TYPES)
    group = NAME_GROUP.get(country) or FAKER_LOCALE[country]
    family_name = rng.choice(plan.pools.last[group])
    big = kind == "refugee"

    hh = Household(
        index,
        hid,
        f"07132BG{rng.randrange(10**7):07d}",
        cid,
        site,
        ags,
        htype,
        referral,
        entry,
        exit_,
        final,
        coach,
        "plain",
    )
    pid_base = f"P{index + 1:07d}"
    persons: list[Person] = []

    def person(role: str, gender: str, birth: dt.date | None, last: str | None = None) -> Person:
        p = Person(
            f"{pid_base}{len(persons) + 1}",
            _name(rng, plan.pools, group, gender),
            last or family_name,
            role,
            gender,
            birth,
        )
        persons.append(p)
        return p

    young = rng.random() < 0.14
    main_age = rng.randint(18, 24) if young else rng.randint(25, 45 if big else 61)
    n_children = 0
    if htype == "single":
        main = person(
            "participant", "male" if rng.random() < 0.56 else "female", _age_date(rng, entry, main_age, main_age)
        )
    elif htype == "single_parent":
        main_age = max(main_age, 20)
        main = person(
            "participant", "female" if rng.random() < 0.88 else "male", _age_date(rng, entry, main_age, main_age)
        )
        n_children = rng.randint(2, 5) if big else rng.choice((1, 1, 2, 2, 3, 4))
    else:
        g = "female" if rng.random() < 0.5 else "male"
        main = person("participant", g, _age_date(rng, entry, main_age, main_age))
        partner_age = max(18, min(64, main_age + rng.randint(-6, 8)))
        if htype == "other":
            other_age = rng.randint(18, 24) if rng.random() < 0.6 else rng.randint(60, 78)
            person("other", rng.choice(("female", "male")), _age_date(rng, entry, other_age, other_age))
            n_children = rng.choice((0, 0, 1, 2))
        else:
            person("partner", "male" if g == "female" else "female", _age_date(rng, entry, partner_age, partner_age))
            if htype == "couple_with_children":
                n_children = rng.randint(2, 6) if big else rng.choice((1, 2, 2, 3, 3, 4, 5))
    if rng.random() < 0.005:
        main.gender = "diverse"
    elif rng.random() < 0.006:
        main.gender = "not_stated"
    youngest_parent = min(main_age, main_age if len(persons) == 1 else main_age + 3)
    for _ in range(n_children):
        age = rng.randint(0, min(17, max(0, youngest_parent - 17)))
        birth = _age_date(rng, entry, age, age) if rng.random() > 0.02 else None  # a few without birth date
        person("child", rng.choice(("female", "male")), birth)
    # a young adult child in some single-parent families, sometimes an ESF participant too
    if htype == "single_parent" and main_age >= 40 and rng.random() < 0.25:
        a = rng.randint(18, 23)
        person("other", rng.choice(("female", "male")), _age_date(rng, entry, a, a))
    hh.profile = ("refugee" if big else "plain") + ("_family" if n_children else "")
    if not hh.profile.startswith("refugee") and n_children:
        hh.profile = "family"

    if final != "not_started":
        parts = [main]
        others = [
            p
            for p in persons[1:]
            if p.role in ("partner", "other") and p.birth and 18 <= (entry - p.birth).days // 365 <= 64
        ]
        if others and (htype.startswith("couple") and rng.random() < 0.55 or rng.random() < 0.3):
            parts.append(others[0])
        for i, p in enumerate(parts):
            _esf_fields(rng, p, hh, kind, country, second=i > 0)
    hh.persons = persons
    _helps(rng, hh, plan, kind, n_children)
    _followups(rng, hh, plan.snapshot)
    return hh


def _esf_fields(rng: random.Random, p: Person, hh: Household, kind: str, country: str, second: bool) -> None:
    p.participant = True
    lag = rng.randint(0, 30) if second else (0 if rng.random() < 0.7 else rng.randint(1, 14))
    p.esf_entry = min(hh.entry + dt.timedelta(days=lag), hh.exit)
    p.consent = p.esf_entry - dt.timedelta(days=rng.choice((0, 0, 0, 1, 2, 5, 7, 10)))
    age = (p.esf_entry - p.birth).days // 365 if p.birth else 40
    p.citizenship = country
    foreign = kind != "german" or rng.random() < 0.12
    p.foreign = "not_stated" if rng.random() < 0.03 else ("yes" if foreign else "no")
    p.refugee = "not_stated" if rng.random() < 0.02 else ("yes" if kind == "refugee" else "no")
    p.disability = "not_stated" if rng.random() < 0.06 else ("yes" if rng.random() < 0.09 else "no")
    p.minority = "not_stated" if rng.random() < 0.15 else ("yes" if rng.random() < 0.03 else "no")
    p.homeless = "unknown" if rng.random() < 0.02 else ("yes" if rng.random() < 0.03 else "no")
    if kind in ("refugee", "other") and rng.random() < 0.85 or kind == "eu" and rng.random() < 0.6:
        p.school = pick(
            rng, (("foreign_unassigned", 0.55), ("none", 0.28), ("lower_secondary", 0.10), ("intermediate", 0.07))
        )
        if p.school == "foreign_unassigned" and rng.random() < 0.55:
            p.isced = pick(rng, (("isced_0_2", 0.5), ("isced_3_4", 0.35), ("isced_5_8", 0.15)))
        p.vocational = pick(
            rng, (("none", 0.62), ("foreign_unrecognised", 0.25), ("semi_skilled", 0.05), ("apprenticeship", 0.08))
        )
    else:
        p.school = pick(
            rng,
            (
                ("none", 0.15),
                ("special_school", 0.05),
                ("lower_secondary", 0.40),
                ("intermediate", 0.28),
                ("entrance_uas", 0.05),
                ("abitur", 0.07),
            ),
        )
        p.vocational = pick(
            rng,
            (
                ("none", 0.50),
                ("semi_skilled", 0.10),
                ("apprenticeship", 0.32),
                ("master_technician", 0.03),
                ("bachelor", 0.03),
                ("master_university", 0.018),
                ("doctorate", 0.002),
            ),
        )
    if hh.htype == "single_parent" and not second and rng.random() < 0.3:
        p.employment = "inactive_other"
    elif age < 21 and rng.random() < 0.3:
        p.employment = "inactive_education"
    else:
        p.employment = pick(
            rng,
            (
                ("unemployed", 0.62),
                ("employed", 0.07),
                ("marginally_employed", 0.10),
                ("self_employed", 0.02),
                ("inactive_education", 0.03),
                ("inactive_other", 0.16),
            ),
        )
    if p.employment == "unemployed":
        months = rng.randint(1, 10) if age < 25 else int(rng.expovariate(1 / 20)) + 1
        p.unemployed_since = add_months(p.esf_entry, -min(months, max(1, (age - 16) * 12)))
        p.unemployed_since -= dt.timedelta(days=rng.randint(0, 20))
    p.ltb = rng.random() < (0.45 if kind == "refugee" else 0.7)
    # some incomplete ESF records (a warning, not an error): the tool lets coaches save them
    if rng.random() < 0.05:
        gap = pick(rng, (("school", 0.6), ("vocational", 0.2), ("employment", 0.1), ("citizenship", 0.1)))
        setattr(p, gap, "")
        if gap == "employment":
            p.unemployed_since = None
    # exit: with the household, a few earlier
    pexit = hh.exit
    if hh.final_status != "not_started" and rng.random() < 0.06 and (hh.exit - p.esf_entry).days > 60:
        pexit = p.esf_entry + dt.timedelta(days=rng.randint(30, (hh.exit - p.esf_entry).days - 1))
    p.esf_exit = max(pexit, p.esf_entry)
    p.exit_reason = pick(rng, REGULAR_REASONS if hh.final_status == "ended_regular" else EARLY_REASONS)
    p.destination = pick(rng, DESTINATIONS.get(p.exit_reason, DEFAULT_DESTINATIONS))
    r = rng.random()
    if r < 0.35:
        p.destination_start = p.esf_exit + dt.timedelta(days=rng.randint(0, 21))
    elif r < 0.42:
        p.destination_start = p.esf_exit + dt.timedelta(days=rng.randint(29, 90))  # too late: "upon leaving" fails
    q = rng.random()
    p.qualification = True if q < 0.12 else False if q < 0.55 else None
    p.employability = pick(rng, (("yes", 0.55), ("no", 0.2), ("not_assessed", 0.1), ("", 0.15)))


def _helps(rng: random.Random, hh: Household, plan: Plan, kind: str, n_children: int) -> None:
    from pipeline import model

    groups = model.label_lists()["help_type"].groups
    types = [
        t
        for t in HELP_WEIGHTS
        if (groups[t] != CHILD_HELP_GROUP or n_children) and (groups[t] != MIGRATION_HELP_GROUP or kind != "german")
    ]
    weights = [HELP_WEIGHTS[t] * (3 if kind == "refugee" and groups[t] == MIGRATION_HELP_GROUP else 1) for t in types]
    if hh.final_status == "not_started":
        n, no_help = (1 if rng.random() < 0.2 else 0), True
    elif rng.random() < 0.14:
        n, no_help = rng.choice((0, 0, 1, 2)), True
    else:
        n, no_help = 3 + rng.choice((0, 1, 1, 2, 2, 3)), False
    last_day = max(hh.entry, hh.exit - dt.timedelta(days=7))
    window = (last_day - hh.entry).days
    parts = [p for p in hh.persons if p.participant]
    kids = [p for p in hh.persons if p.role == "child"]
    for i in range(n):
        t = rng.choices(types, weights=weights)[0]
        grp = groups[t]
        provider = rng.choice(PROVIDERS[grp])
        if grp == CHILD_HELP_GROUP and kids and rng.random() < 0.6:
            pid = rng.choice(kids).pid
        elif parts and rng.random() < 0.5:
            pid = rng.choice(parts).pid
        else:
            pid = ""
        offset = min(window, rng.randint(0, 30) if i == 0 else int(rng.expovariate(1 / 60)))
        created = hh.entry + dt.timedelta(days=offset)
        if no_help:
            final = pick(
                rng,
                (("planned", 0.4), ("waiting_list", 0.3), ("refused_participant", 0.15), ("refused_provider", 0.15)),
            )
        elif i == 0:
            final = pick(rng, tuple((s, w) for s, w in HELP_FINAL_STATUS if s in COUNTED))
        else:
            final = pick(rng, HELP_FINAL_STATUS)
        events = [("planned", created)]
        if final != "planned":
            init = min(created + dt.timedelta(days=rng.choice((0, 0, 1, 3, 7, 14, 21))), last_day)
            init = max(init, created)
            events.append(("initiated", init))
            if final == "waiting_list":
                events[-1] = ("waiting_list", init)
            elif final in ("refused_participant", "refused_provider"):
                events.append((final, init + dt.timedelta(days=rng.randint(7, 45))))
            elif final in ("started", "completed", "aborted"):
                start = init + dt.timedelta(days=rng.randint(7, 60))
                events.append(("started", start))
                if final == "completed":
                    events.append(("completed", start + dt.timedelta(days=rng.randint(30, 180))))
                elif final == "aborted":
                    events.append(("aborted", start + dt.timedelta(days=rng.randint(14, 120))))
        hh.helps.append(Help(f"H{hh.index + 1:07d}{i + 1}", t, provider, pid, events))


def _followups(rng: random.Random, hh: Household, snapshot: dt.date) -> None:
    for p in hh.persons:
        if not (p.participant and p.esf_exit and p.esf_exit <= snapshot):
            continue
        due = add_months(p.esf_exit, 6)
        if due > snapshot or rng.random() > 0.75:
            continue
        if rng.random() < 0.65:
            delta = rng.randint(-10, 20) if rng.random() > 0.06 else rng.randint(35, 60)
            survey = min(due + dt.timedelta(days=delta), snapshot)
            status = FOLLOWUP_STATUS[p.destination] if rng.random() < 0.7 else rng.choice(FOLLOWUP_ANY)
            sgb2 = pick(rng, (("yes", 0.55), ("no", 0.3), ("unknown", 0.1), ("", 0.05)))
            hh.followups.append(FollowUp(p.pid, True, survey, status, sgb2))
        else:
            hh.followups.append(FollowUp(p.pid, False, None, "", rng.choice(("", "", "unknown"))))
