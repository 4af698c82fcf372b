"""The statistics of the A/B tests (api/services/experiment_stats.py) and the deterministic assignment
(api/services/experiments.choose_arm): hand-computed values, the simulations of issue 16, and the rule that no
winner is shown before every arm has its planned accounts. Pure functions: no database, runs in seconds."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from api.services.experiment_stats import (
    ArmCounts,
    ExperimentState,
    Verdict,
    analyse,
    difference_interval,
    minimum_sample_size,
    two_proportion_z_test,
    wilson_interval,
)
from api.services.experiments import choose_arm

HALF_AND_HALF = [("control", 1), ("challenger", 1)]


def simulate(seed: int, rates: dict[str, float], accounts: int = 2000, experiment_id: int | None = None) -> list[ArmCounts]:
    """`accounts` accounts assigned as the api assigns them (the hash of experiment and account), each reaching
    the outcome with its arm's true rate (a seeded draw)."""
    rng = random.Random(seed)
    arms = [(name, 1) for name in rates]
    n: Counter[str] = Counter()
    successes: Counter[str] = Counter()
    for account_id in range(1, accounts + 1):
        arm = choose_arm(seed if experiment_id is None else experiment_id, account_id, arms)
        n[arm] += 1
        successes[arm] += rng.random() < rates[arm]
    return [ArmCounts(name, n[name], successes[name]) for name in rates]


# --- hand-computed values ---------------------------------------------------------------------------------------


def test_the_wilson_interval_of_30_out_of_100_is_the_textbook_one():
    # z = 1.959964, z² = 3.841459: centre (0.3 + 0.019207) / 1.038415 = 0.307398,
    # half-width 1.959964 / 1.038415 × √(0.0021 + 0.0000960) = 0.088449.
    interval = wilson_interval(30, 100)
    assert interval is not None
    assert interval.low == pytest.approx(0.218949, abs=1e-6)
    assert interval.high == pytest.approx(0.395849, abs=1e-6)


def test_the_wilson_interval_stays_in_range_at_the_edges_and_is_absent_without_accounts():
    zero = wilson_interval(0, 10)
    assert zero is not None
    assert zero.low == pytest.approx(0.0, abs=1e-12)
    assert zero.high == pytest.approx(3.841459 / 13.841459, abs=1e-6)  # z² / (n + z²)
    full = wilson_interval(10, 10)
    assert full is not None and full.high == pytest.approx(1.0) and full.low == pytest.approx(10 / 13.841459, abs=1e-6)
    assert wilson_interval(0, 0) is None


def test_the_two_proportion_z_test_matches_the_hand_computation():
    # 30/100 against 45/100: pooled 0.375, se √(0.375 × 0.625 × 0.02) = 0.0684653, z = 0.15 / se = 2.190890,
    # p = 2 Φ(-2.190890) = 0.028460.
    z, p_value = two_proportion_z_test(ArmCounts("a", 100, 30), ArmCounts("b", 100, 45)) or (None, None)
    assert z == pytest.approx(2.190890, abs=1e-6)
    assert p_value == pytest.approx(0.028460, abs=1e-6)
    # The sign follows the challenger: worse gives a negative z and the same p-value.
    z_worse, p_worse = two_proportion_z_test(ArmCounts("a", 100, 45), ArmCounts("b", 100, 30)) or (None, None)
    assert z_worse == pytest.approx(-2.190890, abs=1e-6) and p_worse == pytest.approx(0.028460, abs=1e-6)


def test_the_z_test_says_nothing_without_accounts_and_no_difference_when_nobody_or_everybody_succeeds():
    assert two_proportion_z_test(ArmCounts("a", 0, 0), ArmCounts("b", 10, 3)) is None
    assert two_proportion_z_test(ArmCounts("a", 10, 0), ArmCounts("b", 10, 0)) == (0.0, 1.0)
    assert two_proportion_z_test(ArmCounts("a", 10, 10), ArmCounts("b", 12, 12)) == (0.0, 1.0)


def test_the_difference_interval_matches_the_hand_computation():
    # 0.15 ± 1.959964 × √(0.3 × 0.7 / 100 + 0.45 × 0.55 / 100) = 0.15 ± 1.959964 × 0.0676387 = 0.15 ± 0.132569.
    interval = difference_interval(ArmCounts("a", 100, 30), ArmCounts("b", 100, 45))
    assert interval is not None
    assert interval.low == pytest.approx(0.017431, abs=1e-6)
    assert interval.high == pytest.approx(0.282569, abs=1e-6)


def test_the_minimum_sample_size_is_the_standard_one_for_two_proportions():
    # 0.30 → 0.40, alpha 0.05, power 0.8: p̄ = 0.35,
    # (1.959964 √(2 × 0.35 × 0.65) + 0.841621 √(0.21 + 0.24))² / 0.01 = (1.322066 + 0.564583)² / 0.01 = 355.94.
    assert minimum_sample_size(0.30, 0.10) == 356
    # 0.10 → 0.12 (a classic table value: 3,841 per group).
    assert minimum_sample_size(0.10, 0.02) == 3841
    # Three arms: two comparisons, each at alpha 0.025 (z = 2.241403): (1.511917 + 0.564583)² / 0.01 = 431.18.
    assert minimum_sample_size(0.30, 0.10, arm_count=3) == 432
    with pytest.raises(ValueError):
        minimum_sample_size(0.95, 0.10)


# --- the verdict rule ---------------------------------------------------------------------------------------------


def test_no_winner_is_shown_before_every_arm_has_its_planned_accounts():
    # A large difference, but the challenger has one account fewer than planned.
    early = analyse([ArmCounts("control", 400, 120), ArmCounts("challenger", 355, 160)], min_sample_per_arm=356)
    assert early.ready is False
    assert early.state == ExperimentState.COLLECTING
    assert early.winner is None
    assert [c.verdict for c in early.comparisons] == [Verdict.NOT_YET]
    assert [arm.remaining for arm in early.arms] == [0, 1]
    # The figures are there all the same (the p-value is tiny), only the verdict waits.
    assert early.comparisons[0].p_value is not None and early.comparisons[0].p_value < 1e-4

    reached = analyse([ArmCounts("control", 400, 120), ArmCounts("challenger", 356, 160)], min_sample_per_arm=356)
    assert reached.ready is True
    assert reached.state == ExperimentState.DIFFERENCE
    assert reached.winner == "challenger"
    assert [c.verdict for c in reached.comparisons] == [Verdict.CHALLENGER_BETTER]


def test_a_p_value_above_alpha_declares_no_difference_and_no_winner():
    result = analyse([ArmCounts("control", 400, 120), ArmCounts("challenger", 400, 130)], min_sample_per_arm=356)
    assert result.ready and result.state == ExperimentState.NO_DIFFERENCE and result.winner is None
    assert result.comparisons[0].verdict == Verdict.NO_DIFFERENCE


def test_the_control_wins_when_it_is_better_than_every_challenger():
    result = analyse([ArmCounts("control", 500, 200), ArmCounts("challenger", 500, 140)], min_sample_per_arm=356)
    assert result.comparisons[0].verdict == Verdict.CONTROL_BETTER
    assert result.comparisons[0].difference == pytest.approx(-0.12)
    assert result.winner == "control"


def test_more_than_two_arms_are_compared_with_the_control_at_a_bonferroni_alpha():
    # 60/200 against 81/200: p = 0.028, below 0.05 but above 0.05 / 2.
    two = analyse([ArmCounts("control", 200, 60), ArmCounts("b", 200, 81)], min_sample_per_arm=100)
    assert two.comparisons[0].p_value == pytest.approx(0.02796, abs=1e-4)
    assert two.comparisons[0].verdict == Verdict.CHALLENGER_BETTER
    assert two.interval_level == pytest.approx(0.95)

    three = analyse([ArmCounts("control", 200, 60), ArmCounts("b", 200, 81), ArmCounts("c", 200, 62)], min_sample_per_arm=100)
    assert three.adjusted_alpha == pytest.approx(0.025)
    assert three.interval_level == pytest.approx(0.975)
    assert [c.verdict for c in three.comparisons] == [Verdict.NO_DIFFERENCE, Verdict.NO_DIFFERENCE]
    assert three.winner is None
    # The interval is at the adjusted level, so it agrees with the decision: it holds 0.
    b_interval = three.comparisons[0].interval
    assert b_interval is not None and 0.0 in b_interval


# --- the simulations of issue 16 -------------------------------------------------------------------------------------


def test_30_against_40_percent_over_2000_accounts_is_found_with_the_right_sign_and_an_interval_holding_the_truth():
    arms = simulate(seed=16, rates={"control": 0.30, "challenger": 0.40})
    result = analyse(arms, minimum_sample_size(0.30, 0.10))
    assert result.ready  # about 1,000 accounts per arm against 356 planned
    comparison = result.comparisons[0]
    assert comparison.verdict == Verdict.CHALLENGER_BETTER
    assert comparison.difference is not None and comparison.difference > 0
    assert comparison.interval is not None and 0.10 in comparison.interval
    assert result.winner == "challenger"
    for arm, truth in zip(result.arms, (0.30, 0.40)):
        assert arm.interval is not None and truth in arm.interval


def test_over_many_seeds_the_difference_is_found_and_its_interval_holds_the_truth_about_95_percent_of_the_time():
    runs = 400
    found = covered = 0
    for seed in range(runs):
        result = analyse(simulate(seed, {"control": 0.30, "challenger": 0.40}), minimum_sample_size(0.30, 0.10))
        comparison = result.comparisons[0]
        found += comparison.verdict == Verdict.CHALLENGER_BETTER
        covered += comparison.interval is not None and 0.10 in comparison.interval
    assert found >= 0.98 * runs  # the power at ~1,000 per arm is above 0.99
    assert covered >= 0.92 * runs  # a 95 % interval (372 of 400 here; 94.8 % over 2,000 seeds)


def test_with_equal_true_rates_a_difference_is_declared_in_about_5_percent_of_runs_or_fewer():
    runs = 400
    declared = 0
    for seed in range(runs):
        result = analyse(simulate(seed, {"control": 0.30, "challenger": 0.30}), minimum_sample_size(0.30, 0.10))
        assert result.ready
        declared += result.state == ExperimentState.DIFFERENCE
    # 25 of 400 here (6.25 %); 4.65 % over 4,000 seeds.
    assert declared <= 0.07 * runs, f"a difference declared in {declared} of {runs} runs"


# --- deterministic assignment ----------------------------------------------------------------------------------------


def test_an_account_always_lands_in_the_same_arm():
    arms = [("plain", 1), ("empathetic", 2)]
    first = [choose_arm(7, account_id, arms) for account_id in range(1, 1001)]
    assert first == [choose_arm(7, account_id, arms) for account_id in range(1, 1001)]
    # The separator keeps (1, 23) apart from (12, 3): they are different inputs.
    assert {choose_arm(1, 23, HALF_AND_HALF), choose_arm(12, 3, HALF_AND_HALF)} <= {"control", "challenger"}


@pytest.mark.parametrize(
    "arms",
    [
        [("control", 1), ("challenger", 1)],
        [("control", 1), ("challenger", 3)],
        [("a", 1), ("b", 1), ("c", 2)],
    ],
)
def test_assignment_follows_the_ratios_over_10000_accounts(arms):
    counts = Counter(choose_arm(42, account_id, arms) for account_id in range(1, 10_001))
    total = sum(ratio for _, ratio in arms)
    for name, ratio in arms:
        assert counts[name] / 10_000 == pytest.approx(ratio / total, abs=0.02)


def test_another_experiment_reshuffles_the_accounts_independently():
    one = [choose_arm(1, account_id, HALF_AND_HALF) for account_id in range(1, 10_001)]
    two = [choose_arm(2, account_id, HALF_AND_HALF) for account_id in range(1, 10_001)]
    same = sum(a == b for a, b in zip(one, two)) / 10_000
    assert same == pytest.approx(0.5, abs=0.03)
