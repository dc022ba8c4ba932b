"""The legitimate population: people, companies, their accounts, employers, owners and assets.

:func:`plan_population` draws it in named steps from one stream; the order of the steps is
the order of the draws, so it is part of every world's identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flowrisk.reference import sectors
from flowrisk.synth.accounts import counterparty_pools, own_accounts
from flowrisk.synth.holdings import honest_assets
from flowrisk.synth.institutions import INSTITUTIONS, N_BRANCHES
from flowrisk.synth.params import WorldParams
from flowrisk.synth.world import COUNTRY, ROLE, AccountBook, Arch, World, day_of, seconds_of

__all__ = ["plan_population"]

PERSON_MIX = {
    Arch.SALARIED: 0.50,
    Arch.CASH_WORKER: 0.08,
    Arch.RETIREE: 0.15,
    Arch.STUDENT: 0.08,
    Arch.HIGH_EARNER: 0.06,
    Arch.CRYPTO_HOBBYIST: 0.05,
    Arch.REMITTER: 0.08,
}
CASH_BUSINESS_SHARE = 0.35
# median yearly declared income and log-spread per person archetype
INCOME = {
    Arch.SALARIED: (30_000, 0.35),
    Arch.CASH_WORKER: (19_000, 0.35),
    Arch.RETIREE: (22_000, 0.35),
    Arch.STUDENT: (6_000, 0.5),
    Arch.HIGH_EARNER: (110_000, 0.4),
    Arch.CRYPTO_HOBBYIST: (42_000, 0.4),
    Arch.REMITTER: (24_000, 0.3),
}
BIRTH_YEARS = {
    Arch.SALARIED: (1962, 2000),
    Arch.CASH_WORKER: (1965, 2002),
    Arch.RETIREE: (1938, 1962),
    Arch.STUDENT: (2000, 2007),
    Arch.HIGH_EARNER: (1958, 1992),
    Arch.CRYPTO_HOBBYIST: (1975, 2004),
    Arch.REMITTER: (1960, 2000),
}
WAGE_EARNERS = [Arch.SALARIED, Arch.HIGH_EARNER, Arch.CRYPTO_HOBBYIST, Arch.REMITTER]
RENTERS = [Arch.SALARIED, Arch.CASH_WORKER, Arch.STUDENT, Arch.REMITTER, Arch.CRYPTO_HOBBYIST]
OWNER_ARCHETYPES = [Arch.SALARIED, Arch.HIGH_EARNER, Arch.RETIREE, Arch.CASH_WORKER, Arch.REMITTER]
EU_NEIGHBOURS = ("BE", "DE", "ES", "IT", "PT")


@dataclass
class People:
    """Who the entities are: company or person, archetype, income, age, residence."""

    is_company: np.ndarray
    arch: np.ndarray
    income: np.ndarray
    birth_year: np.ndarray
    country: np.ndarray
    is_pep: np.ndarray


@dataclass
class Trade:
    """What the companies are: sector, size, takings, age and how they trade."""

    sector: np.ndarray
    employees: np.ndarray
    revenue: np.ndarray
    registration_day: np.ndarray
    cash_share: np.ndarray
    supplier_ratio: np.ndarray
    seasonality_amp: np.ndarray


def _calendar(params: WorldParams) -> tuple[np.ndarray, np.ndarray]:
    """Month boundaries (seconds, months + 1 of them) and the calendar month of each month."""
    month_start = [params.start]
    for _ in range(params.months):
        last = month_start[-1]
        y, m = divmod(last.month, 12)
        month_start.append(last.replace(year=last.year + y, month=m + 1))
    month_start_s = np.array([seconds_of(d) for d in month_start], dtype=np.int64)
    calendar_month = np.array([d.month - 1 for d in month_start[:-1]], dtype=np.int8)
    return month_start_s, calendar_month


def _choice(rng: np.random.Generator, options: dict[Arch, float], n: int) -> np.ndarray:
    keys = np.array([int(k) for k in options], dtype=np.int8)
    probs = np.array(list(options.values()))
    return keys[rng.choice(len(keys), size=n, p=probs / probs.sum())]


def _archetypes(rng: np.random.Generator, n: int, company_share: float) -> tuple[np.ndarray, ...]:
    """Company or person, then each one's archetype."""
    is_company = rng.random(n) < company_share
    n_comp = int(is_company.sum())
    arch = np.empty(n, dtype=np.int8)
    arch[~is_company] = _choice(rng, PERSON_MIX, n - n_comp)
    comp_arch = np.where(
        rng.random(n_comp) < CASH_BUSINESS_SHARE, Arch.CASH_BUSINESS, Arch.ORDINARY_COMPANY
    )
    arch[is_company] = comp_arch
    return is_company, arch


def _persons(rng: np.random.Generator, arch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Declared yearly income and birth year of each person, by archetype."""
    n = len(arch)
    income = np.full(n, np.nan)
    birth_year = np.full(n, -1, dtype=np.int16)
    for a, (median, spread) in INCOME.items():
        idx = np.flatnonzero(arch == a)
        income[idx] = np.round(median * rng.lognormal(0.0, spread, len(idx)), -2)
        lo, hi = BIRTH_YEARS[a]
        birth_year[idx] = rng.integers(lo, hi + 1, len(idx))
    return income, birth_year


def _companies(rng: np.random.Generator, arch: np.ndarray, start_day: int) -> Trade:
    """Sector, staff, revenue and registration of each company, then how it trades."""
    n = len(arch)
    sec = sectors()
    cash_intensive = sec["cash_intensive"].to_numpy()
    sector = np.full(n, -1, dtype=np.int16)
    cb = np.flatnonzero(arch == Arch.CASH_BUSINESS)
    oc = np.flatnonzero(arch == Arch.ORDINARY_COMPANY)
    sector[cb] = rng.choice(np.flatnonzero(cash_intensive), len(cb))
    sector[oc] = rng.choice(np.flatnonzero(~cash_intensive), len(oc))
    comp = np.flatnonzero(arch >= Arch.CASH_BUSINESS)
    of = sector[comp]
    typical = sec["typical_employees"].to_numpy()[of]
    employees = np.full(n, -1, dtype=np.int32)
    employees[comp] = np.maximum(1, rng.poisson(typical * rng.lognormal(0, 0.5, len(comp))))
    rpe = sec["revenue_per_employee"].to_numpy()[of]
    revenue = np.full(n, np.nan)
    revenue[comp] = np.round(employees[comp] * rpe * rng.lognormal(0, 0.3, len(comp)), -2)
    registration_day = np.full(n, -1, dtype=np.int32)
    age_days = (rng.lognormal(np.log(8), 0.8, len(comp)) * 365).astype(np.int32) + 120
    registration_day[comp] = start_day - age_days
    cash_share, supplier_ratio, seasonality_amp = np.zeros(n), np.zeros(n), np.zeros(n)
    cs_mean = sec["cash_share"].to_numpy()[of]
    cash_share[comp] = np.clip(rng.normal(cs_mean, sec["cash_share_sd"].to_numpy()[of]), 0.0, 0.92)
    sr = sec["supplier_spend_ratio"].to_numpy()[of]
    supplier_ratio[comp] = np.clip(sr * rng.lognormal(0, 0.2, len(comp)), 0.02, 0.95)
    seasonality_amp[comp] = np.clip(rng.normal(1.0, 0.25, len(comp)), 0.2, 1.6)
    return Trade(
        sector, employees, revenue, registration_day, cash_share, supplier_ratio, seasonality_amp
    )


def _residence(rng: np.random.Generator, is_company: np.ndarray) -> tuple[np.ndarray, ...]:
    """Country of residence (France, a few EU neighbours) and politically exposed persons."""
    n = len(is_company)
    country = np.full(n, COUNTRY["FR"], dtype=np.int16)
    foreign = rng.random(n) < 0.04
    country[foreign] = rng.choice([COUNTRY[c] for c in EU_NEIGHBOURS], int(foreign.sum()))
    is_pep = (~is_company) & (rng.random(n) < 0.002)
    return country, is_pep


def _ownership(
    rng: np.random.Generator, people: People, trade: Trade
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Owners of companies, holding groups and families: the owner of each company, the links,
    and the (person, relative) pairs of families."""
    arch, reg = people.arch, trade.registration_day
    comp = np.flatnonzero(people.is_company)
    persons = np.flatnonzero(~people.is_company)
    owner = np.full(len(arch), -1, dtype=np.int64)
    adults = persons[np.isin(arch[persons], OWNER_ARCHETYPES)]
    owner[comp] = rng.choice(adults if len(adults) else persons, len(comp))
    rows: dict[str, list[np.ndarray]] = {
        "owner": [owner[comp], owner[comp]],
        "owned": [comp, comp],
        "role": [
            np.full(len(comp), ROLE["beneficial_owner"], np.int8),
            np.full(len(comp), ROLE["director"], np.int8),
        ],
        "share": [np.round(rng.uniform(50, 100, len(comp)), 1), np.full(len(comp), np.nan)],
        "since": [reg[comp], reg[comp]],
    }
    # a tenth of ordinary companies belong to a holding among the ordinary companies
    oc = np.flatnonzero(arch == Arch.ORDINARY_COMPANY)
    in_group = oc[rng.random(len(oc)) < 0.1]
    if len(in_group) and len(oc) > 1:
        holding = rng.choice(oc, len(in_group))
        ok = holding != in_group
        in_group, holding = in_group[ok], holding[ok]
        share = np.round(rng.uniform(51, 100, len(in_group)), 1)
        since = np.maximum(reg[in_group], reg[holding])
        _link(rows, holding, in_group, "shareholder", share, since)
    related = persons[rng.random(len(persons)) < 0.1]
    relative = rng.choice(persons, len(related)) if len(persons) else related
    ok = related != relative
    _link(rows, related[ok], relative[ok], "relative", np.full(int(ok.sum()), np.nan))
    return owner, {k: np.concatenate(v) for k, v in rows.items()}, related[ok], relative[ok]


def _link(
    rows: dict[str, list[np.ndarray]],
    owner: np.ndarray,
    owned: np.ndarray,
    role: str,
    share: np.ndarray,
    since: np.ndarray | None = None,
) -> None:
    """Append ownership links of one role (``since`` unknown when not given)."""
    rows["owner"].append(owner)
    rows["owned"].append(owned)
    rows["role"].append(np.full(len(owner), ROLE[role], np.int8))
    rows["share"].append(share)
    rows["since"].append(np.full(len(owner), -1, np.int32) if since is None else since)


def _payers(
    rng: np.random.Generator,
    people: People,
    employees: np.ndarray,
    acc_primary: np.ndarray,
    pools: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Who pays each person (employer, pension fund, parent), whom they pay rent, where family
    remittances go, and each entity's home branch."""
    arch, n = people.arch, len(people.arch)
    comp = np.flatnonzero(people.is_company)
    employer = np.full(n, -1, dtype=np.int64)
    workers = np.flatnonzero(np.isin(arch, WAGE_EARNERS))
    in_world = rng.random(len(workers)) < 0.4
    if len(comp):
        weights = employees[comp].astype(float)
        pick = rng.choice(len(comp), int(in_world.sum()), p=weights / weights.sum())
        employer[workers[in_world]] = acc_primary[comp[pick]]
    employer[workers[~in_world]] = rng.choice(pools["employer_ext"], int((~in_world).sum()))
    ret = np.flatnonzero(arch == Arch.RETIREE)
    employer[ret] = rng.choice(pools["pension"], len(ret))
    stu = np.flatnonzero(arch == Arch.STUDENT)
    employer[stu] = rng.choice(pools["person"], len(stu))  # a parent's account
    landlord = np.full(n, -1, dtype=np.int64)
    renters = np.flatnonzero(np.isin(arch, RENTERS))
    landlord[renters] = np.where(
        rng.random(len(renters)) < 0.25,
        rng.choice(pools["person"], len(renters)),
        rng.choice(pools["landlord_ext"], len(renters)),
    )
    landlord[comp] = rng.choice(pools["landlord_ext"], len(comp))
    family_abroad = np.full(n, -1, dtype=np.int64)
    rem = np.flatnonzero(arch == Arch.REMITTER)
    family_abroad[rem] = rng.choice(pools["family_abroad"], len(rem))
    home_branch = rng.integers(0, N_BRANCHES, n).astype(np.int32)
    return employer, landlord, family_abroad, home_branch


def plan_population(params: WorldParams, rng: np.random.Generator) -> tuple[World, AccountBook]:
    """Draw the honest world: entity attributes, accounts, employers, owners and assets."""
    n = params.entities
    start_day = day_of(params.start)
    month_start_s, calendar_month = _calendar(params)
    is_company, arch = _archetypes(rng, n, params.company_share)
    income, birth_year = _persons(rng, arch)
    trade = _companies(rng, arch, start_day)
    people = People(is_company, arch, income, birth_year, *_residence(rng, is_company))
    book = AccountBook()
    acc = own_accounts(rng, book, people.is_company, arch, trade.registration_day, start_day)
    pools = counterparty_pools(rng, book, start_day, acc["primary"], arch)
    employer, landlord, family_abroad, home_branch = _payers(
        rng, people, trade.employees, acc["primary"], pools
    )
    owner, ownership, related, relative = _ownership(rng, people, trade)
    surname = rng.integers(0, 1 << 30, n)
    surname[related] = surname[relative]  # families share a surname
    first_name = rng.integers(0, 1 << 30, n)
    world = World(
        params=params,
        start_s=int(month_start_s[0]),
        end_s=int(month_start_s[-1]),
        month_start_s=month_start_s,
        calendar_month=calendar_month,
        is_company=is_company,
        arch=arch,
        sector=trade.sector,
        income=income,
        revenue=trade.revenue,
        declared_revenue=trade.revenue.copy(),
        employees=trade.employees,
        birth_year=birth_year,
        registration_day=trade.registration_day,
        closure_day=np.full(n, -1, dtype=np.int32),
        country=people.country,
        is_pep=people.is_pep,
        first_name=first_name,
        surname=surname,
        acc_primary=acc["primary"],
        acc_savings=acc["savings"],
        acc_second=acc["second"],
        acc_exchange=acc["exchange"],
        acc_wallet=acc["wallet"],
        acc_mto=acc["mto"],
        employer=employer,
        landlord=landlord,
        family_abroad=family_abroad,
        home_branch=home_branch,
        cash_share=trade.cash_share,
        supplier_ratio=trade.supplier_ratio,
        seasonality_amp=trade.seasonality_amp,
        owner=owner,
        accounts={},
        institutions=INSTITUTIONS,
        pools=pools,
        ownership=ownership,
        assets=honest_assets(rng, arch, income, start_day, params.months),
    )
    return world, book
