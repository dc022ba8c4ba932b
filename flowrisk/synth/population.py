"""The legitimate population: people, companies, their accounts, employers, owners and assets."""

from __future__ import annotations

import numpy as np

from flowrisk.reference import jurisdictions, sectors
from flowrisk.synth.params import WorldParams
from flowrisk.synth.world import (
    COUNTRIES,
    COUNTRY,
    RISK_BIT,
    AccountBook,
    Arch,
    World,
    bank_account_type,
    day_of,
    seconds_of,
)

__all__ = ["INSTITUTIONS", "plan_population"]

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

BANKS = tuple(f"FRBANK{i:02d}" for i in range(1, 13))
BANK_WEIGHTS = np.array([18, 15, 13, 11, 9, 8, 7, 6, 5, 4, 2, 2], dtype=float)
EXCHANGES = ("CEX-EU-01", "CEX-EU-02", "CEX-EU-03", "CEX-EU-04")
RISKY_EXCHANGES = ("CEX-OFF-01", "CEX-OFF-02")
MTOS = ("MTO-01", "MTO-02", "MTO-03")
FOREIGN_BANKS = tuple(f"BANK-{c}" for c in COUNTRIES if c != "FR")
INSTITUTIONS = (*BANKS, *EXCHANGES, *RISKY_EXCHANGES, *MTOS, *FOREIGN_BANKS, "UNHOSTED")
INSTITUTION = {name: i for i, name in enumerate(INSTITUTIONS)}
N_BRANCHES = 400

# destination countries of family remittances: high-risk and ordinary ones alike
REMITTANCE_COUNTRIES = (
    "MA",
    "DZ",
    "TN",
    "SN",
    "CI",
    "CM",
    "CD",
    "HT",
    "VN",
    "CN",
    "TR",
    "PT",
    "NG",
)


def _choice(rng: np.random.Generator, options: dict[Arch, float], n: int) -> np.ndarray:
    keys = np.array([int(k) for k in options], dtype=np.int8)
    probs = np.array(list(options.values()))
    return keys[rng.choice(len(keys), size=n, p=probs / probs.sum())]


def _bank(rng: np.random.Generator, n: int) -> np.ndarray:
    picks = rng.choice(len(BANKS), size=n, p=BANK_WEIGHTS / BANK_WEIGHTS.sum())
    return (INSTITUTION[BANKS[0]] + picks).astype(np.int16)


def _foreign(
    book: AccountBook, countries: list[str], per_country: int, opened: int, tags: int = 0
) -> np.ndarray:
    """External accounts in each of ``countries`` at that country's bank."""
    out = []
    for c in countries:
        inst = INSTITUTION[f"BANK-{c}"]
        out.append(book.add(-1, "external", inst, COUNTRY[c], opened, tags, n=per_country))
    return np.concatenate(out)


def plan_population(params: WorldParams, rng: np.random.Generator) -> tuple[World, AccountBook]:
    """Draw the honest world: entity attributes, accounts, employers, owners and assets."""
    n = params.entities
    start_day = day_of(params.start)
    month_start = [params.start]
    for _ in range(params.months):
        last = month_start[-1]
        y, m = divmod(last.month, 12)
        month_start.append(last.replace(year=last.year + y, month=m + 1))
    month_start_s = np.array([seconds_of(d) for d in month_start], dtype=np.int64)
    calendar_month = np.array([d.month - 1 for d in month_start[:-1]], dtype=np.int8)

    is_company = rng.random(n) < params.company_share
    n_comp = int(is_company.sum())
    n_pers = n - n_comp
    arch = np.empty(n, dtype=np.int8)
    arch[~is_company] = _choice(rng, PERSON_MIX, n_pers)
    comp_arch = np.where(
        rng.random(n_comp) < CASH_BUSINESS_SHARE, Arch.CASH_BUSINESS, Arch.ORDINARY_COMPANY
    )
    arch[is_company] = comp_arch

    # persons
    income = np.full(n, np.nan)
    birth_year = np.full(n, -1, dtype=np.int16)
    for a, (median, spread) in INCOME.items():
        idx = np.flatnonzero(arch == a)
        income[idx] = np.round(median * rng.lognormal(0.0, spread, len(idx)), -2)
        lo, hi = BIRTH_YEARS[a]
        birth_year[idx] = rng.integers(lo, hi + 1, len(idx))

    # companies: sector, size, revenue, registration
    sec = sectors()
    cash_sectors = np.flatnonzero(sec["cash_intensive"].to_numpy())
    other_sectors = np.flatnonzero(~sec["cash_intensive"].to_numpy())
    sector = np.full(n, -1, dtype=np.int16)
    cb = np.flatnonzero(arch == Arch.CASH_BUSINESS)
    oc = np.flatnonzero(arch == Arch.ORDINARY_COMPANY)
    sector[cb] = rng.choice(cash_sectors, len(cb))
    sector[oc] = rng.choice(other_sectors, len(oc))
    comp = np.flatnonzero(is_company)
    typical = sec["typical_employees"].to_numpy()[sector[comp]]
    employees = np.full(n, -1, dtype=np.int32)
    employees[comp] = np.maximum(1, rng.poisson(typical * rng.lognormal(0, 0.5, len(comp))))
    rpe = sec["revenue_per_employee"].to_numpy()[sector[comp]]
    revenue = np.full(n, np.nan)
    revenue[comp] = np.round(employees[comp] * rpe * rng.lognormal(0, 0.3, len(comp)), -2)
    registration_day = np.full(n, -1, dtype=np.int32)
    age_days = (rng.lognormal(np.log(8), 0.8, len(comp)) * 365).astype(np.int32) + 120
    registration_day[comp] = start_day - age_days
    closure_day = np.full(n, -1, dtype=np.int32)

    cash_share = np.zeros(n)
    cs_mean = sec["cash_share"].to_numpy()[sector[comp]]
    cs_sd = sec["cash_share_sd"].to_numpy()[sector[comp]]
    cash_share[comp] = np.clip(rng.normal(cs_mean, cs_sd), 0.0, 0.92)
    supplier_ratio = np.zeros(n)
    sr = sec["supplier_spend_ratio"].to_numpy()[sector[comp]]
    supplier_ratio[comp] = np.clip(sr * rng.lognormal(0, 0.2, len(comp)), 0.02, 0.95)
    seasonality_amp = np.zeros(n)
    seasonality_amp[comp] = np.clip(rng.normal(1.0, 0.25, len(comp)), 0.2, 1.6)

    country = np.full(n, COUNTRY["FR"], dtype=np.int16)
    foreign = rng.random(n) < 0.04
    country[foreign] = rng.choice(
        [COUNTRY[c] for c in ("BE", "DE", "ES", "IT", "PT")], int(foreign.sum())
    )
    is_pep = (~is_company) & (rng.random(n) < 0.002)

    # accounts of the world's entities
    book = AccountBook()
    ent = np.arange(n, dtype=np.int64)
    opened_before = start_day - rng.integers(60, 20 * 365, n).astype(np.int32)
    opened = np.where(is_company, np.maximum(registration_day + 10, opened_before), opened_before)
    primary_bank = _bank(rng, n)
    acc_primary = book.add(ent, bank_account_type(is_company), primary_bank, COUNTRY["FR"], opened)
    acc_savings = np.full(n, -1, dtype=np.int64)
    has_sav = (~is_company) & (rng.random(n) < 0.5)
    acc_savings[has_sav] = book.add(
        ent[has_sav], "savings", primary_bank[has_sav], COUNTRY["FR"], opened[has_sav]
    )
    acc_second = np.full(n, -1, dtype=np.int64)
    has_second = rng.random(n) < np.where(is_company, 0.25, 0.12)
    acc_second[has_second] = book.add(
        ent[has_second],
        bank_account_type(is_company[has_second]),
        _bank(rng, int(has_second.sum())),
        COUNTRY["FR"],
        opened[has_second] + rng.integers(0, 365, int(has_second.sum())).astype(np.int32),
    )
    acc_exchange = np.full(n, -1, dtype=np.int64)
    acc_wallet = np.full(n, -1, dtype=np.int64)
    hob = np.flatnonzero(arch == Arch.CRYPTO_HOBBYIST)
    acc_exchange[hob] = book.add(
        hob,
        "crypto_exchange",
        INSTITUTION[EXCHANGES[0]] + rng.integers(0, len(EXCHANGES), len(hob)),
        COUNTRY["FR"],
        start_day - rng.integers(30, 6 * 365, len(hob)),
    )
    has_wallet = hob[rng.random(len(hob)) < 0.6]
    acc_wallet[has_wallet] = book.add(
        has_wallet,
        "crypto_wallet",
        INSTITUTION["UNHOSTED"],
        COUNTRY["FR"],
        start_day - rng.integers(30, 6 * 365, len(has_wallet)),
    )
    acc_mto = np.full(n, -1, dtype=np.int64)
    rem = np.flatnonzero(arch == Arch.REMITTER)
    uses_mto = rem[rng.random(len(rem)) < 0.5]
    acc_mto[uses_mto] = book.add(
        uses_mto,
        "current",
        INSTITUTION[MTOS[0]] + rng.integers(0, len(MTOS), len(uses_mto)),
        COUNTRY["FR"],
        start_day - rng.integers(30, 5 * 365, len(uses_mto)),
    )

    # external counterparties
    scale = max(1, n // 1_000)
    old = start_day - 3_650
    pools: dict[str, np.ndarray] = {
        "employer_ext": book.add(-1, "external", _bank(rng, 20 * scale), COUNTRY["FR"], old),
        "pension": book.add(-1, "external", INSTITUTION[BANKS[0]], COUNTRY["FR"], old, n=4),
        "merchant_ext": book.add(-1, "external", _bank(rng, 40 * scale), COUNTRY["FR"], old),
        "landlord_ext": book.add(-1, "external", _bank(rng, 60 * scale), COUNTRY["FR"], old),
        "utility": book.add(-1, "external", _bank(rng, 12), COUNTRY["FR"], old),
        "tax": book.add(-1, "external", INSTITUTION[BANKS[0]], COUNTRY["FR"], old, n=3),
        "notary": book.add(-1, "external", _bank(rng, 10 * scale), COUNTRY["FR"], old),
        "dealer": book.add(-1, "external", _bank(rng, 10 * scale), COUNTRY["FR"], old),
        "jeweller": book.add(-1, "external", _bank(rng, 3 * scale), COUNTRY["FR"], old),
        "lender": book.add(-1, "external", _bank(rng, 12), COUNTRY["FR"], old),
        "acquirer": book.add(-1, "external", _bank(rng, 6), COUNTRY["FR"], old),
        "supplier_ext": book.add(-1, "external", _bank(rng, 30 * scale), COUNTRY["FR"], old),
        "client_ext": book.add(-1, "external", _bank(rng, 30 * scale), COUNTRY["FR"], old),
        "exchange_hot": book.add(
            -1,
            "external",
            INSTITUTION[EXCHANGES[0]] + np.arange(len(EXCHANGES)),
            COUNTRY["FR"],
            old,
        ),
    }
    hr_hubs = sorted(c for c in COUNTRIES if c in jurisdictions().watched)
    eu_partners = ["BE", "DE", "ES", "IT", "NL", "LU", "CH", "GB", "US", "PT"]
    per = max(2, scale)
    pools["family_abroad"] = _foreign(book, list(REMITTANCE_COUNTRIES), 8 * per, old)
    pools["foreign_partner"] = _foreign(book, eu_partners, 4 * per, old)
    pools["foreign_risky_partner"] = _foreign(book, hr_hubs, 2 * per, old)
    pools["offshore_company"] = _foreign(book, ["AE", "HK", "PA", "VG", "CY", "MT"], 2 * per, old)
    wallets = {
        "wallet_plain": 0,
        "wallet_mixer": RISK_BIT["mixer"],
        "wallet_darknet": RISK_BIT["darknet"],
        "wallet_sanctioned": RISK_BIT["sanctioned"],
        "wallet_gambling": RISK_BIT["gambling"],
    }
    for name, tag in wallets.items():
        count = (40 if tag == 0 else 6) * per
        pools[name] = book.add(
            -1, "crypto_wallet", INSTITUTION["UNHOSTED"], COUNTRY["FR"], old, tag, n=count
        )
    pools["exchange_risky"] = book.add(
        -1,
        "crypto_exchange",
        INSTITUTION[RISKY_EXCHANGES[0]] + np.arange(2),
        COUNTRY["HK"],
        old,
        RISK_BIT["high_risk_exchange"],
    )

    # in-world counterparties
    shops = acc_primary[cb]
    companies = acc_primary[comp]
    pools["shop"] = shops if len(shops) else pools["merchant_ext"]
    pools["company"] = companies if len(companies) else pools["client_ext"]
    ordinary = acc_primary[oc]
    pools["supplier_company"] = ordinary if len(ordinary) else pools["supplier_ext"]
    persons = np.flatnonzero(~is_company)
    pools["person"] = acc_primary[persons]

    # who pays whom
    employer = np.full(n, -1, dtype=np.int64)
    workers = np.flatnonzero(
        np.isin(arch, [Arch.SALARIED, Arch.HIGH_EARNER, Arch.CRYPTO_HOBBYIST, Arch.REMITTER])
    )
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
    renters = np.flatnonzero(
        np.isin(
            arch,
            [Arch.SALARIED, Arch.CASH_WORKER, Arch.STUDENT, Arch.REMITTER, Arch.CRYPTO_HOBBYIST],
        )
    )
    landlord[renters] = np.where(
        rng.random(len(renters)) < 0.25,
        rng.choice(pools["person"], len(renters)),
        rng.choice(pools["landlord_ext"], len(renters)),
    )
    landlord[comp] = rng.choice(pools["landlord_ext"], len(comp))
    family_abroad = np.full(n, -1, dtype=np.int64)
    family_abroad[rem] = rng.choice(pools["family_abroad"], len(rem))
    home_branch = rng.integers(0, N_BRANCHES, n).astype(np.int32)

    # owners of companies, holding groups and families
    owner = np.full(n, -1, dtype=np.int64)
    adults = persons[
        np.isin(
            arch[persons],
            [Arch.SALARIED, Arch.HIGH_EARNER, Arch.RETIREE, Arch.CASH_WORKER, Arch.REMITTER],
        )
    ]
    if len(adults) == 0:
        adults = persons
    owner[comp] = rng.choice(adults, len(comp))
    own_rows: dict[str, list[np.ndarray]] = {
        "owner": [owner[comp], owner[comp]],
        "owned": [comp, comp],
        "role": [np.zeros(len(comp), np.int8), np.ones(len(comp), np.int8)],
        "share": [np.round(rng.uniform(50, 100, len(comp)), 1), np.full(len(comp), np.nan)],
        "since": [registration_day[comp], registration_day[comp]],
    }
    # a tenth of ordinary companies belong to a holding among the ordinary companies
    in_group = oc[rng.random(len(oc)) < 0.1]
    if len(in_group) and len(oc) > 1:
        holding = rng.choice(oc, len(in_group))
        ok = holding != in_group
        in_group, holding = in_group[ok], holding[ok]
        own_rows["owner"].append(holding)
        own_rows["owned"].append(in_group)
        own_rows["role"].append(np.full(len(in_group), 2, np.int8))
        own_rows["share"].append(np.round(rng.uniform(51, 100, len(in_group)), 1))
        own_rows["since"].append(np.maximum(registration_day[in_group], registration_day[holding]))
    related = persons[rng.random(len(persons)) < 0.1]
    relative = rng.choice(persons, len(related)) if len(persons) else related
    ok = related != relative
    own_rows["owner"].append(related[ok])
    own_rows["owned"].append(relative[ok])
    own_rows["role"].append(np.full(int(ok.sum()), 3, np.int8))
    own_rows["share"].append(np.full(int(ok.sum()), np.nan))
    own_rows["since"].append(np.full(int(ok.sum()), -1, np.int32))
    ownership = {k: np.concatenate(v) for k, v in own_rows.items()}

    surname = rng.integers(0, 1 << 30, n)
    surname[related[ok]] = surname[relative[ok]]  # families share a surname
    first_name = rng.integers(0, 1 << 30, n)

    world = World(
        params=params,
        start_s=int(month_start_s[0]),
        end_s=int(month_start_s[-1]),
        month_start_s=month_start_s,
        calendar_month=calendar_month,
        is_company=is_company,
        arch=arch,
        sector=sector,
        income=income,
        revenue=revenue,
        declared_revenue=revenue.copy(),
        employees=employees,
        birth_year=birth_year,
        registration_day=registration_day,
        closure_day=closure_day,
        country=country,
        is_pep=is_pep,
        first_name=first_name,
        surname=surname,
        acc_primary=acc_primary,
        acc_savings=acc_savings,
        acc_second=acc_second,
        acc_exchange=acc_exchange,
        acc_wallet=acc_wallet,
        acc_mto=acc_mto,
        employer=employer,
        landlord=landlord,
        family_abroad=family_abroad,
        home_branch=home_branch,
        cash_share=cash_share,
        supplier_ratio=supplier_ratio,
        seasonality_amp=seasonality_amp,
        owner=owner,
        accounts={},
        institutions=INSTITUTIONS,
        pools=pools,
        ownership=ownership,
        assets=_honest_assets(rng, arch, income, start_day, params.months),
    )
    return world, book


def _honest_assets(
    rng: np.random.Generator, arch: np.ndarray, income: np.ndarray, start_day: int, months: int
) -> dict[str, np.ndarray]:
    """Honest wealth: property and cars bought with loans or savings, old property of retirees."""
    span = months * 30
    rows: dict[str, list[np.ndarray]] = {
        k: [] for k in ("entity", "type", "day", "value", "method")
    }

    def add(
        who: np.ndarray, kind: int, day: np.ndarray, value: np.ndarray, method: np.ndarray
    ) -> None:
        rows["entity"].append(who)
        rows["type"].append(np.full(len(who), kind, np.int8))
        rows["day"].append(day.astype(np.int32))
        rows["value"].append(np.round(value, -2))
        rows["method"].append(method.astype(np.int8))

    rich = np.flatnonzero(arch == Arch.HIGH_EARNER)
    buyers = rich[rng.random(len(rich)) < 0.35]
    add(
        buyers,
        0,
        start_day + rng.integers(0, span, len(buyers)),
        income[buyers] * rng.uniform(2.0, 7.0, len(buyers)),
        np.where(rng.random(len(buyers)) < 0.8, 1, 2),
    )  # loan, else transfer
    cars = rich[rng.random(len(rich)) < 0.3]
    add(
        cars,
        1,
        start_day + rng.integers(0, span, len(cars)),
        income[cars] * rng.uniform(0.3, 0.9, len(cars)),
        np.where(rng.random(len(cars)) < 0.5, 1, 2),
    )
    watches = rich[rng.random(len(rich)) < 0.08]
    add(
        watches,
        2,
        start_day + rng.integers(0, span, len(watches)),
        rng.uniform(5_000, 30_000, len(watches)),
        np.full(len(watches), 2),
    )
    sal = np.flatnonzero(np.isin(arch, [Arch.SALARIED, Arch.CRYPTO_HOBBYIST, Arch.REMITTER]))
    car_buyers = sal[rng.random(len(sal)) < 0.08]
    add(
        car_buyers,
        1,
        start_day + rng.integers(0, span, len(car_buyers)),
        income[car_buyers] * rng.uniform(0.3, 1.0, len(car_buyers)),
        np.where(rng.random(len(car_buyers)) < 0.6, 1, 2),
    )
    owners = sal[rng.random(len(sal)) < 0.03]
    add(
        owners,
        0,
        start_day + rng.integers(0, span, len(owners)),
        income[owners] * rng.uniform(4.0, 8.0, len(owners)),
        np.ones(len(owners)),
    )
    ret = np.flatnonzero(arch == Arch.RETIREE)
    homes = ret[rng.random(len(ret)) < 0.6]
    add(
        homes,
        0,
        start_day - rng.integers(5 * 365, 40 * 365, len(homes)),
        rng.lognormal(np.log(220_000), 0.5, len(homes)),
        np.ones(len(homes)),
    )
    return {k: np.concatenate(v) for k, v in rows.items()}
