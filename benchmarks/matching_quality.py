"""Matching quality on a labelled set: precision and fill rate, against the category-only rule.

    python benchmarks/matching_quality.py

``benchmarks/data/matching_quality.txt`` holds need and offer texts written for this benchmark
(every top-level category, near misses such as 轮椅 / 助行器 / 拐杖, quantities in many unit
spellings, typos), each labelled with its true item kind. The benchmark does what the app
does: the category is the one a person picks (the label's category), the item kind and the
unit are inferred from the typed text (``Taxonomy.infer`` with the category, as the forms
propose), and the engine runs with the taxonomy. Households and service areas are synthetic
(one county, five communities; a fifth of the offers serve one township only, a tenth require
a disabled member), fixed by ``--seed``.

- **precision**: share of proposals whose offer's *labelled* kind may serve the need's
  labelled kind (same kind or a listed substitute).
- **fill rate**: of the needs that have at least one compatible eligible offer (labels, units,
  area, eligibility), the share that got a proposal from a compatible offer.
- **best achievable**: the same engine given the true kinds (an oracle classifier); the target
  is ``fill_rate >= 0.95 * best_fill_rate``.
- **baseline**: the rule before item kinds: candidates by category only (no kinds, no units).

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matching import Eligibility, MatchResult, Need, Offer, RunConfig, run_matching
from matching.candidates import check
from matching.items import Taxonomy, load_taxonomy, terms

DATA = Path(__file__).resolve().parent / "data" / "matching_quality.txt"
TODAY = dt.date(2026, 11, 30)
COUNTY = ("330000", "330100", "330106")
TOWNSHIPS = ("330106002", "330106004", "330106009")
COMMUNITIES = tuple(f"{t}{c:03d}" for t in TOWNSHIPS for c in (1, 2))


@dataclass(frozen=True)
class Labelled:
    label: str
    text: str
    capacity: int = 0


def read_set(path: Path = DATA) -> tuple[list[Labelled], list[Labelled]]:
    needs: list[Labelled] = []
    offers: list[Labelled] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tag, _, rest = line.partition(" ")
        parts = [p.strip() for p in rest.split("|")]
        if tag == "N":
            needs.append(Labelled(parts[0], parts[1]))
        elif tag == "O":
            offers.append(Labelled(parts[0], parts[1], int(parts[2])))
    return needs, offers


def build(
    taxonomy: Taxonomy, needs: Sequence[Labelled], offers: Sequence[Labelled], seed: int
) -> tuple[list[Need], list[Offer]]:
    """Engine inputs with kinds and units *inferred* from the texts (labels kept aside)."""
    rng = random.Random(seed)
    engine_needs = []
    for i, n in enumerate(needs):
        category = taxonomy.kinds[n.label].category
        found = taxonomy.infer(n.text, category, strict=True)
        community = rng.choice(COMMUNITIES)
        path = (*COUNTY, community[:9], community)
        engine_needs.append(
            Need(
                id=f"n{i:04d}",
                category=category,
                remaining=found.quantity or 1,
                urgency=rng.choices(("emergency", "high", "normal"), (5, 25, 70))[0],
                deadline=TODAY + dt.timedelta(days=rng.randint(5, 60))
                if rng.random() < 0.5
                else None,
                region_path=path,
                household_id=f"h{i:04d}",
                household_categories=frozenset({rng.choice(("dibao", "tekun", "dibao_edge"))}),
                household_flags=frozenset({"disabled"}) if rng.random() < 0.3 else frozenset(),
                vulnerability=round(rng.random(), 2),
                waiting_days=rng.randint(0, 90),
                item_kind=found.kind,
                unit=found.unit or "",
                terms=tuple(terms(n.text)),
                title=n.text,
            )
        )
    engine_offers = []
    for j, o in enumerate(offers):
        category = taxonomy.kinds[o.label].category
        found = taxonomy.infer(o.text, category, strict=True)
        roll = rng.random()
        area = (rng.choice(TOWNSHIPS),) if roll < 0.2 else ("330106",)
        rules = (
            Eligibility(required_flags=frozenset({"disabled"}))
            if rng.random() < 0.1
            else Eligibility()
        )
        engine_offers.append(
            Offer(
                id=f"o{j:04d}",
                organization_id=f"org{j % 17}",
                category=category,
                remaining=o.capacity,
                service_area=area,
                eligibility=rules,
                available_until=TODAY + dt.timedelta(days=rng.randint(30, 120)),
                org_rating=None if rng.random() < 0.3 else round(rng.uniform(2, 5), 1),
                item_kind=found.kind,
                unit=found.unit or "",
                terms=tuple(terms(o.text)),
                title=o.text,
            )
        )
    return engine_needs, engine_offers


def with_labels(
    taxonomy: Taxonomy,
    needs: list[Need],
    offers: list[Offer],
    need_labels: Sequence[str],
    offer_labels: Sequence[str],
) -> tuple[list[Need], list[Offer]]:
    """The same inputs with the true kinds (units that do not belong to the kind dropped)."""

    def unit(kind: str, given: str) -> str:
        return given if given in taxonomy.kinds[kind].units else ""

    return (
        [
            replace(n, item_kind=k, unit=unit(k, n.unit))
            for n, k in zip(needs, need_labels, strict=True)
        ],
        [
            replace(o, item_kind=k, unit=unit(k, o.unit))
            for o, k in zip(offers, offer_labels, strict=True)
        ],
    )


@dataclass(frozen=True)
class Scores:
    proposals: int
    correct: int
    served: int
    servable: int
    seconds: float

    @property
    def precision(self) -> float:
        return self.correct / self.proposals if self.proposals else 1.0

    @property
    def fill_rate(self) -> float:
        return self.served / self.servable if self.servable else 1.0


def evaluate(
    taxonomy: Taxonomy,
    result: MatchResult,
    seconds: float,
    need_labels: dict[str, str],
    offer_labels: dict[str, str],
    servable: set[str],
) -> Scores:
    correct = 0
    served: set[str] = set()
    for p in result.proposals:
        ok = taxonomy.can_serve(offer_labels[p.offer_id], need_labels[p.need_id])
        correct += ok
        if ok and p.need_id in servable:
            served.add(p.need_id)
    return Scores(len(result.proposals), correct, len(served), len(servable), seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--per-household-cap", type=int, default=1000)
    parser.add_argument("--show-errors", action="store_true", help="list wrong proposals")
    args = parser.parse_args(argv)

    taxonomy = load_taxonomy()
    need_set, offer_set = read_set()
    unknown = sorted({x.label for x in (*need_set, *offer_set)} - set(taxonomy.kinds))
    if unknown:
        raise SystemExit(f"labels not in the taxonomy: {unknown}")
    needs, offers = build(taxonomy, need_set, offer_set, args.seed)
    need_labels = {n.id: x.label for n, x in zip(needs, need_set, strict=True)}
    offer_labels = {o.id: x.label for o, x in zip(offers, offer_set, strict=True)}
    oracle_needs, oracle_offers = with_labels(
        taxonomy, needs, offers, [x.label for x in need_set], [x.label for x in offer_set]
    )
    # Needs with a compatible eligible offer: by the labels, units, area, eligibility, window.
    servable = {
        n.id
        for n in oracle_needs
        if any(check(o, n, TODAY, taxonomy=taxonomy) for o in oracle_offers)
    }
    config = RunConfig(today=TODAY, per_household_cap=args.per_household_cap)

    def timed(run_needs: list[Need], run_offers: list[Offer], tax: Taxonomy | None) -> Scores:
        t = time.perf_counter()
        result = run_matching(run_needs, run_offers, config, taxonomy=tax)
        seconds = time.perf_counter() - t
        if args.show_errors and tax is not None:
            for p in result.proposals:
                if not taxonomy.can_serve(offer_labels[p.offer_id], need_labels[p.need_id]):
                    n = next(x for x in run_needs if x.id == p.need_id)
                    o = next(x for x in run_offers if x.id == p.offer_id)
                    print(f"  wrong: {n.title!r} ({n.item_kind}) <- {o.title!r} ({o.item_kind})")
        return evaluate(taxonomy, result, seconds, need_labels, offer_labels, servable)

    engine = timed(needs, offers, taxonomy)
    oracle = timed(oracle_needs, oracle_offers, taxonomy)
    plain = [replace(n, item_kind=None, unit="", terms=()) for n in needs]
    plain_offers = [replace(o, item_kind=None, unit="", terms=()) for o in offers]
    baseline = timed(plain, plain_offers, None)

    inferred = sum(n.item_kind == need_labels[n.id] for n in needs)
    unclassified = sum(n.item_kind is None for n in needs)
    offers_right = sum(o.item_kind == offer_labels[o.id] for o in offers)
    categories = sorted({taxonomy.kinds[x.label].category for x in need_set})
    print(
        f"set: {len(needs)} needs, {len(offers)} offers, {len(categories)} categories "
        f"({', '.join(categories)}); {len(servable)} needs have a compatible eligible offer"
    )
    print(
        f"inference: need kinds right {inferred}/{len(needs)} "
        f"({unclassified} unclassified), offer kinds right {offers_right}/{len(offers)}"
    )
    print(f"{'rule':<34}{'proposals':>10}{'precision':>11}{'fill rate':>11}{'time s':>9}")
    for name, s in (
        ("engine, kinds inferred from text", engine),
        ("engine, true kinds (best)", oracle),
        ("category only (baseline)", baseline),
    ):
        print(
            f"{name:<34}{s.proposals:>10}{s.precision:>11.4f}{s.fill_rate:>11.4f}{s.seconds:>9.3f}"
        )
    ratio = engine.fill_rate / oracle.fill_rate if oracle.fill_rate else 1.0
    print(
        f"targets: precision >= 0.98: {engine.precision >= 0.98}; "
        f"fill rate >= 0.95 x best: {ratio >= 0.95} ({ratio:.4f})"
    )
    print(
        json.dumps(
            {
                "needs": len(needs),
                "offers": len(offers),
                "categories": len(categories),
                "servable_needs": len(servable),
                "proposals": engine.proposals,
                "precision": round(engine.precision, 4),
                "fill_rate": round(engine.fill_rate, 4),
                "best_fill_rate": round(oracle.fill_rate, 4),
                "fill_vs_best": round(ratio, 4),
                "baseline_proposals": baseline.proposals,
                "baseline_precision": round(baseline.precision, 4),
                "baseline_fill_rate": round(baseline.fill_rate, 4),
                "need_kinds_inferred_right": inferred,
                "need_kinds_unclassified": unclassified,
                "offer_kinds_inferred_right": offers_right,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
