"""The statistics of an A/B test, as plain functions with no I/O (docs/experiments.md gives the formulas).

Each arm: its accounts `n`, its successes, the rate and a 95 % Wilson score interval. Each challenger against
the control (the first arm): the difference of rates (challenger minus control), its Wald interval, and the
two-sided p-value of the two-proportion z-test with the pooled rate. The accounts each arm needs are planned
up front (two proportions, alpha 0.05, power 0.8, Bonferroni when more than one challenger); no verdict is
given before every arm has them, and then a difference is declared only when p < alpha (alpha / the number
of challengers when there are several).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

ALPHA = 0.05
POWER = 0.8
ARM_INTERVAL_LEVEL = 0.95
_NORMAL = NormalDist()


class Verdict(StrEnum):
    """What a challenger's comparison with the control says."""

    NOT_YET = "not_yet"  # an arm has fewer accounts than planned: nothing is concluded
    NO_DIFFERENCE = "no_difference"  # p >= alpha: no difference shown (not the same as "equal")
    CHALLENGER_BETTER = "challenger_better"
    CONTROL_BETTER = "control_better"


class ExperimentState(StrEnum):
    """Where the whole experiment stands."""

    COLLECTING = "collecting"  # some arm is below its planned size: no winner is shown
    NO_DIFFERENCE = "no_difference"  # every arm reached its size and no challenger differs from the control
    DIFFERENCE = "difference"  # at least one challenger differs from the control


@dataclass(frozen=True)
class ArmCounts:
    """An arm's accounts that count (`n`) and how many of them reached the outcome."""

    name: str
    n: int
    successes: int

    def __post_init__(self) -> None:
        if not 0 <= self.successes <= self.n:
            raise ValueError(f"arm {self.name!r}: successes must lie between 0 and n")


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class ArmResult:
    name: str
    control: bool
    n: int
    successes: int
    rate: float | None
    interval: Interval | None  # 95 % Wilson
    remaining: int  # accounts still needed before a verdict (0 when reached)


@dataclass(frozen=True)
class Comparison:
    arm: str
    control: str
    difference: float | None  # challenger's rate minus the control's
    interval: Interval | None  # at `Analysis.interval_level`
    z: float | None
    p_value: float | None
    verdict: Verdict


@dataclass(frozen=True)
class Analysis:
    arms: list[ArmResult]
    comparisons: list[Comparison]
    min_sample_per_arm: int
    alpha: float
    adjusted_alpha: float  # alpha / the number of challengers (Bonferroni)
    interval_level: float  # 1 - adjusted_alpha: the difference's interval agrees with the decision
    ready: bool  # every arm has reached min_sample_per_arm
    state: ExperimentState
    winner: str | None


def quantile(p: float) -> float:
    """The standard normal quantile (inverse CDF)."""
    return _NORMAL.inv_cdf(p)


def adjusted_alpha(alpha: float, arm_count: int) -> float:
    """Bonferroni: each of the (arms - 1) comparisons with the control is tested at alpha / (arms - 1)."""
    return alpha / max(1, arm_count - 1)


def wilson_interval(successes: int, n: int, level: float = ARM_INTERVAL_LEVEL) -> Interval | None:
    """Wilson score interval of a proportion: centre (p + z²/2n) / (1 + z²/n), half-width
    z / (1 + z²/n) · √(p(1-p)/n + z²/4n²). Stays within [0, 1] and is honest at small n or extreme rates."""
    if n == 0:
        return None
    z = quantile(1 - (1 - level) / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_z_test(control: ArmCounts, challenger: ArmCounts) -> tuple[float, float] | None:
    """The two-sided two-proportion z-test with the pooled rate: z = (p1 - p0) / √(p(1-p)(1/n0 + 1/n1)),
    p = (x0 + x1) / (n0 + n1); p-value = 2 Φ(-|z|). None when an arm has no account. When the pooled rate is
    0 or 1 the arms cannot differ: z = 0, p-value = 1."""
    if control.n == 0 or challenger.n == 0:
        return None
    pooled = (control.successes + challenger.successes) / (control.n + challenger.n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / challenger.n))
    if se == 0:
        return 0.0, 1.0
    z = (challenger.successes / challenger.n - control.successes / control.n) / se
    return z, 2 * _NORMAL.cdf(-abs(z))


def difference_interval(control: ArmCounts, challenger: ArmCounts, level: float = 0.95) -> Interval | None:
    """Wald interval of p1 - p0: (p1 - p0) ± z · √(p0(1-p0)/n0 + p1(1-p1)/n1) (unpooled)."""
    if control.n == 0 or challenger.n == 0:
        return None
    p0, p1 = control.successes / control.n, challenger.successes / challenger.n
    z = quantile(1 - (1 - level) / 2)
    half = z * math.sqrt(p0 * (1 - p0) / control.n + p1 * (1 - p1) / challenger.n)
    return Interval(p1 - p0 - half, p1 - p0 + half)


def minimum_sample_size(
    baseline_rate: float, minimum_detectable_effect: float, *, arm_count: int = 2, alpha: float = ALPHA, power: float = POWER
) -> int:
    """Accounts each arm needs to find an absolute difference of `minimum_detectable_effect` from
    `baseline_rate` with the two-sided two-proportion test (the standard formula, no continuity correction):

        n = (z_{1-a/2} √(2 p̄ (1 - p̄)) + z_{power} √(p1 (1 - p1) + p2 (1 - p2)))² / (p2 - p1)²

    with p1 the baseline, p2 = p1 + effect, p̄ their mean, and a = alpha / (arms - 1) (Bonferroni)."""
    p1 = baseline_rate
    p2 = baseline_rate + minimum_detectable_effect
    if not 0 < p1 < 1 or not 0 < p2 < 1 or minimum_detectable_effect <= 0:
        raise ValueError("the baseline rate and the baseline plus the effect lie strictly between 0 and 1, the effect above 0")
    a = adjusted_alpha(alpha, arm_count)
    mean = (p1 + p2) / 2
    root = quantile(1 - a / 2) * math.sqrt(2 * mean * (1 - mean)) + quantile(power) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root * root / (p2 - p1) ** 2)


def analyse(arms: Sequence[ArmCounts], min_sample_per_arm: int, alpha: float = ALPHA) -> Analysis:
    """The report's figures: every arm, every challenger against the control (`arms[0]`), and the verdict.

    No verdict before every arm has `min_sample_per_arm` accounts; then a challenger differs from the control
    when its p-value is below alpha / (arms - 1). The winner is the control when it is better than every
    challenger, otherwise the best-rated challenger shown better than the control (challengers are not tested
    against one another), otherwise none."""
    if len(arms) < 2:
        raise ValueError("an experiment compares at least two arms")
    control = arms[0]
    a = adjusted_alpha(alpha, len(arms))
    ready = all(arm.n >= min_sample_per_arm for arm in arms)
    results = [
        ArmResult(
            name=arm.name,
            control=index == 0,
            n=arm.n,
            successes=arm.successes,
            rate=arm.successes / arm.n if arm.n else None,
            interval=wilson_interval(arm.successes, arm.n),
            remaining=max(0, min_sample_per_arm - arm.n),
        )
        for index, arm in enumerate(arms)
    ]
    comparisons = []
    for challenger in arms[1:]:
        test = two_proportion_z_test(control, challenger)
        z, p_value = test if test else (None, None)
        difference = challenger.successes / challenger.n - control.successes / control.n if test else None
        verdict = Verdict.NOT_YET
        if ready and p_value is not None and difference is not None:
            if p_value >= a:
                verdict = Verdict.NO_DIFFERENCE
            else:
                verdict = Verdict.CHALLENGER_BETTER if difference > 0 else Verdict.CONTROL_BETTER
        comparisons.append(
            Comparison(
                arm=challenger.name,
                control=control.name,
                difference=difference,
                interval=difference_interval(control, challenger, 1 - a),
                z=z,
                p_value=p_value,
                verdict=verdict,
            )
        )
    return Analysis(
        arms=results,
        comparisons=comparisons,
        min_sample_per_arm=min_sample_per_arm,
        alpha=alpha,
        adjusted_alpha=a,
        interval_level=1 - a,
        ready=ready,
        state=_state(ready, comparisons),
        winner=_winner(ready, results, comparisons),
    )


def _state(ready: bool, comparisons: list[Comparison]) -> ExperimentState:
    if not ready:
        return ExperimentState.COLLECTING
    if all(c.verdict == Verdict.NO_DIFFERENCE for c in comparisons):
        return ExperimentState.NO_DIFFERENCE
    return ExperimentState.DIFFERENCE


def _winner(ready: bool, arms: list[ArmResult], comparisons: list[Comparison]) -> str | None:
    if not ready:
        return None
    if all(c.verdict == Verdict.CONTROL_BETTER for c in comparisons):
        return arms[0].name
    rate = {arm.name: arm.rate or 0.0 for arm in arms}
    better = [c.arm for c in comparisons if c.verdict == Verdict.CHALLENGER_BETTER]
    return max(better, key=lambda name: rate[name]) if better else None
