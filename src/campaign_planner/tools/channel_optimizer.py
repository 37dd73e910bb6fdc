"""The channel optimizer: split a campaign budget across channels to maximise expected incremental outcome.

Problem: maximise ``sum_c f_c(x_c)`` subject to ``sum_c x_c = B`` and ``l_c <= x_c <= u_c``, where
``f_c`` is channel c's campaign response (adstock build-up + Hill saturation over the campaign's weeks,
see ``response_curves``). The bounds come from the arguments, the catalog and the ``min_share`` floor.

Method (documented because Hill curves with slope > 1 are S-shaped, i.e. not concave):

0. **Implied bounds.** ``u_c <= B - sum of the others' l``, ``l_c >= B - sum of the others' u``, so every
   range below is one an allocation can actually reach.
1. **Concave envelope.** For each channel, the upper concave envelope of ``f_c`` on ``[l_c, u_c]`` is
   the chord from ``l_c`` to the tangent point ``t_c`` followed by ``f_c`` itself (a Hill sum is convex
   then concave). Maximising the sum of envelopes is a concave separable problem, solved by bisection
   on the common marginal return λ (KKT: each channel sits at a bound or where its envelope's slope
   equals λ). For concave curves (slope <= 1) the envelope is the curve and this is the optimum.
2. **Branching.** At that KKT point at most one channel (generically) sits inside a chord, where the
   envelope overstates the curve. It is fixed at either end of its chord (``l_c`` or ``t_c``, moved
   inside what the others' bounds allow) and the rest re-solved, recursively (a few leaves at most).
3. **Polish.** Every leaf is refined on the true curves: Newton steps on the KKT system of its interior
   channels (f'_c(x_c) = λ, sum = budget; analytic f' and f''), alternated with exact 1-D exchanges
   between the most KKT-violating pair (which lets a channel leave a bound or settle past its
   inflection inside a chord, where a tight budget's optimum can lie). The best true value is kept.
4. **Certificate.** Weak duality gives ``λ B + sum_c max_x (f_c(x) - λ x)`` as an upper bound on the
   optimum for any λ; it is evaluated at the bisection's λ and at the solution's own marginal return,
   and ``optimality_gap_bound`` reports the relative distance: a proof of quality, not an estimate.
5. **Cents.** Spends are rounded to cents within their bounds; the leftover cents go deterministically
   to the channels with the highest marginal return that have room (taken from the lowest when over),
   ties broken by channel order, so the allocations sum to the budget exactly.

Measured (bench/bench_optimizer.py): against an exhaustive grid on 210 random 2-4 channel S-shaped
problems the continuous optimum is never worse; the only shortfall is the cent rounding (~1e-5).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import brentq, minimize_scalar

from campaign_planner.data.order_value import average_order_value as shop_order_value
from campaign_planner.domain import Allocation, Budget, Flag, FlagCode, FrontierPoint, ResponseCurvePoint
from campaign_planner.render.messages import keyed_flag
from campaign_planner.tools.response_curves import (
    CurveSet,
    Outcome,
    ResponseCurve,
    carryover_factors,
    fit_response_curves,
    hill,
    hill_derivative,
    hill_second_derivative,
)

if TYPE_CHECKING:
    from campaign_planner.data.shop import Shop

Objective = Literal["revenue", "conversions"]
#: Share of the budget the min_share floors may take at most once they have to be relaxed.
RELAXED_FLOOR_TOTAL = 0.5
#: Weekly spend above this multiple of the largest observed weekly spend is flagged as extrapolation.
EXTRAPOLATION_FACTOR = 1.5
#: A fitted model whose held-out R² is below this gets a weak-evidence flag.
WEAK_FIT_R2 = 0.3
_CHART_POINTS = 25


class AllocationError(ValueError):
    """An allocation request that cannot be served; the message names the argument."""


class InfeasibleConstraintsError(AllocationError):
    """Constraints that no allocation can satisfy; ``conflicts`` names each conflicting constraint."""

    def __init__(self, message: str, conflicts: list[str]) -> None:
        super().__init__(f"{message}: " + "; ".join(conflicts) if conflicts else message)
        self.conflicts = conflicts


class ChannelOutcome(BaseModel):
    """A channel's expected outcome at its allocated spend, with intervals from parameter uncertainty."""

    model_config = ConfigDict(extra="forbid")

    channel: str
    spend: float
    expected_outcome: float
    interval_80: tuple[float, float]
    interval_95: tuple[float, float]
    source: Literal["response_curve", "prior"]
    spend_at_marginal_roi_1: float | None = Field(
        default=None, description="Campaign spend beyond which one more unit returns less than one unit."
    )


class AllocationResult(BaseModel):
    """The optimal split, the evidence for it (curves, marginal returns), and what to watch (flags)."""

    model_config = ConfigDict(extra="forbid")

    objective: Objective
    budget: float
    weeks: int
    currency: str | None = None
    allocations: list[Allocation]
    outcomes: list[ChannelOutcome]
    total_expected: float
    total_interval_80: tuple[float, float]
    total_interval_95: tuple[float, float]
    curves: dict[str, list[ResponseCurvePoint]]
    flags: list[Flag] = Field(default_factory=list)
    min_share: float = Field(description="The min_share floor actually applied (after any relaxation).")
    upper_bound: float | None = Field(
        description="The concave-envelope bound no allocation can beat (in the objective's units); None "
        "when the certificate failed (a curve with more than one inflection), see notes."
    )
    optimality_gap_bound: float | None = Field(
        description="(upper_bound - optimum found) / upper_bound, before rounding to cents; None as above."
    )
    method: str
    notes: list[str] = Field(default_factory=list)
    seconds: float = 0.0
    frontier: list[FrontierPoint] = Field(
        default_factory=list, description="Best outcome per total spend (objective units), see budget_frontier."
    )
    recommended_total: float | None = Field(
        default=None, description="Total spend where the best split's marginal ROI crosses 1 (<= budget)."
    )
    recommended_outcome: float | None = None
    unallocated_return: float | None = Field(
        default=None, description="Outcome the budget beyond recommended_total adds (objective units)."
    )
    spend_all: bool = False
    recommendation_note: str = ""

    def to_budget(self, currency: str | None = None) -> Budget:
        """Return the plan's ``Budget`` section (allocations, total, curves) in ``currency``."""
        code = currency or self.currency
        if not code:
            raise AllocationError("a currency is needed to build the plan's budget section")
        return Budget(
            currency=code,
            total=self.budget,
            allocations=self.allocations,
            objective=self.objective,
            curves=self.curves,
        )


# --------------------------------------------------------------------------------------------------
# Vectorised campaign curves for the solver.
# --------------------------------------------------------------------------------------------------


@dataclass
class _Curves:
    """Point-estimate campaign curves of m channels, scaled into the objective's units."""

    beta: np.ndarray
    half: np.ndarray
    slope: np.ndarray
    factors: np.ndarray  # (m, weeks) carry-over build-up / weeks: adstock = total spend * factors

    @classmethod
    def build(cls, curves: Sequence[ResponseCurve], weeks: int, scale: float) -> _Curves:
        return cls(
            beta=np.array([c.beta * scale for c in curves]),
            half=np.array([c.half_saturation for c in curves]),
            slope=np.array([c.slope for c in curves]),
            factors=np.vstack([carryover_factors(c.decay, weeks) / weeks for c in curves]),
        )

    def value(self, x: np.ndarray) -> np.ndarray:
        """Return f_c(x_c) for each channel (x shape (m,))."""
        a = x[:, None] * self.factors
        return self.beta * hill(a, self.half[:, None], self.slope[:, None]).sum(axis=1)

    def grad(self, x: np.ndarray) -> np.ndarray:
        a = x[:, None] * self.factors
        return self.beta * (hill_derivative(a, self.half[:, None], self.slope[:, None]) * self.factors).sum(
            axis=1
        )

    def hess(self, x: np.ndarray) -> np.ndarray:
        """Return f_c''(x_c) for each channel."""
        a = x[:, None] * self.factors
        second = hill_second_derivative(a, self.half[:, None], self.slope[:, None])
        return self.beta * (second * self.factors**2).sum(axis=1)

    def one_hess(self, i: int, x: np.ndarray) -> np.ndarray:
        a = np.asarray(x, dtype=float)[..., None] * self.factors[i]
        second = hill_second_derivative(a, self.half[i], self.slope[i])
        return self.beta[i] * (second * self.factors[i] ** 2).sum(axis=-1)

    def one(self, i: int, x: np.ndarray) -> np.ndarray:
        """Return f_i on an array of spends."""
        a = np.asarray(x, dtype=float)[..., None] * self.factors[i]
        return self.beta[i] * hill(a, self.half[i], self.slope[i]).sum(axis=-1)

    def one_grad(self, i: int, x: np.ndarray) -> np.ndarray:
        a = np.asarray(x, dtype=float)[..., None] * self.factors[i]
        return self.beta[i] * (hill_derivative(a, self.half[i], self.slope[i]) * self.factors[i]).sum(axis=-1)


@dataclass
class _Envelope:
    """Concave envelope of one channel on [lower, upper]: a chord up to ``tangent``, then the curve."""

    lower: float
    upper: float
    tangent: float
    chord_slope: float  # the envelope's slope on [lower, tangent]; f'(lower) if there is no chord
    grid: np.ndarray  # spends on [tangent, upper] ...
    grid_slope: np.ndarray  # ... and f' there, made non-increasing, for inverting f' = λ


def _envelope(curves: _Curves, i: int, lower: float, upper: float) -> _Envelope:
    f = lambda x: curves.one(i, x)  # noqa: E731
    df = lambda x: curves.one_grad(i, x)  # noqa: E731
    tangent = lower
    if upper > lower and curves.slope[i] > 1.0:
        # g(x) = f'(x)(x - l) - (f(x) - f(l)) is > 0 while the chord from l lies above f near x (convex
        # part) and turns negative past the tangent point; the first + to - crossing is t.
        xs = lower + (upper - lower) * np.geomspace(1e-7, 1.0, 256)
        f_lower = float(f(np.array(lower)))
        g = df(xs) * (xs - lower) - (f(xs) - f_lower)
        tol = 1e-12 * (abs(float(f(np.array(upper)))) + 1.0)
        positive = np.nonzero(g > tol)[0]
        if positive.size:
            after = np.nonzero(g[positive[0] :] <= tol)[0]
            if after.size == 0:
                tangent = upper  # convex all the way: the envelope is the chord l -> u
            else:
                k = positive[0] + int(after[0])
                gfun = lambda x: float(df(np.array(x)) * (x - lower) - (f(np.array(x)) - f_lower))  # noqa: E731
                tangent = float(brentq(gfun, xs[k - 1], xs[k], xtol=1e-10 * max(upper, 1.0)))
    if tangent > lower:
        chord = float((f(np.array(tangent)) - f(np.array(lower))) / (tangent - lower))
    else:
        chord = float(df(np.array(lower)))
    if upper > tangent:
        start = tangent if tangent > 0 else upper * 1e-9
        grid = np.concatenate([[tangent], start + (upper - start) * np.geomspace(1e-9, 1.0, 400)])
        grid_slope = np.minimum.accumulate(np.nan_to_num(df(grid), posinf=1e300))
    else:
        grid, grid_slope = np.array([tangent]), np.array([chord])
    return _Envelope(lower, upper, tangent, chord, grid, grid_slope)


def _dual_bound(curves: _Curves, envelopes: Sequence[_Envelope], lam: float, budget: float) -> float:
    """Return the Lagrangian bound λ B + sum_c max_x (f_c(x) - λ x), which no feasible allocation beats.

    Weak duality makes it a bound for any λ; at the envelope problem's multiplier it equals that
    problem's optimum. Each channel's inner maximum is taken over its ends, its tangent point, the
    KKT demand and a 257-point grid, so a curve with an unexpected shape cannot hide its maximum.
    """
    total = lam * budget
    for i, env in enumerate(envelopes):
        grid = env.lower + (env.upper - env.lower) * np.linspace(0.0, 1.0, 257)
        # The table demand is ~1e-4 off in x; Newton on f'(x) = λ makes the inner maximum exact.
        x = _demand(env, lam)
        for _ in range(4):
            if not env.lower < x < env.upper:
                break
            curvature = float(curves.one_hess(i, np.array(x)))
            if curvature >= 0:
                break
            x = min(max(x - (float(curves.one_grad(i, np.array(x))) - lam) / curvature, env.lower), env.upper)
        candidates = np.concatenate([grid, [env.tangent, x]])
        total += float(np.max(curves.one(i, candidates) - lam * candidates))
    return total


def _envelope_at(curves: _Curves, i: int, env: _Envelope, x: float) -> float:
    """Return channel i's concave envelope at spend x."""
    if x < env.tangent:
        return float(curves.one(i, np.array(env.lower))) + env.chord_slope * (x - env.lower)
    return float(curves.one(i, np.array(x)))


def _demand(env: _Envelope, lam: float) -> float:
    """Return the spend maximising envelope(x) - λ x (the low end of the chord when λ equals its slope)."""
    if env.upper <= env.lower:
        return env.lower
    if lam >= env.chord_slope and env.tangent > env.lower:
        return env.lower
    if lam <= env.grid_slope[-1]:
        return env.upper
    if lam >= env.grid_slope[0]:
        return env.tangent if env.tangent > env.lower else env.lower
    # grid_slope is non-increasing along grid; np.interp wants increasing x.
    return float(np.interp(lam, env.grid_slope[::-1], env.grid[::-1]))


def _solve_envelope(envelopes: Sequence[_Envelope], budget: float) -> tuple[np.ndarray, float]:
    """Return (the maximiser of the sum of concave envelopes with sum(x) = budget, its multiplier λ)."""

    def total(lam: float) -> tuple[float, np.ndarray]:
        x = np.array([_demand(env, lam) for env in envelopes])
        return float(x.sum()), x

    slopes = [e.chord_slope for e in envelopes] + [float(e.grid_slope[0]) for e in envelopes]
    # 1e300 stands for an infinite slope at zero spend (Hill slope < 1): such a channel is never at l.
    finite = [s for s in slopes if 0 < s < 1e299]
    hi = max(finite, default=1.0) * 2.0 + 1e-12
    lo = min(float(e.grid_slope[-1]) for e in envelopes)
    lo = max(lo, 1e-300) / 2.0
    guard = 0
    while total(hi)[0] > budget and guard < 200:
        hi *= 4.0
        guard += 1
    guard = 0
    while total(lo)[0] < budget and guard < 200 and lo > 1e-300:
        lo /= 4.0
        guard += 1
    for _ in range(100):
        mid = math.exp((math.log(lo) + math.log(hi)) / 2.0)
        if total(mid)[0] > budget:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-14 * hi:
            break
    sum_low, x_low = total(hi)  # spends at the higher λ: sum <= budget
    sum_high, x_high = total(lo)  # at the lower λ: sum >= budget
    if sum_high - sum_low <= 0:
        return x_low, math.sqrt(lo * hi)
    # Between the two λ only channels on a chord (or steep curve parts) move; mixing them fills the
    # budget exactly and stays on each envelope's linear piece.
    weight = min(max((budget - sum_low) / (sum_high - sum_low), 0.0), 1.0)
    return x_low + weight * (x_high - x_low), math.sqrt(lo * hi)


# --------------------------------------------------------------------------------------------------
# The solver.
# --------------------------------------------------------------------------------------------------


def _branch(
    curves: _Curves, envelopes: list[_Envelope], budget: float, leaves: list[np.ndarray], depth: int = 0
) -> None:
    """Collect candidate allocations: the KKT point, and its fractional chord channel at either end."""
    x, _ = _solve_envelope(envelopes, budget)
    leaves.append(x)
    if len(leaves) >= 24 or depth >= 6:
        return
    fractional = [
        i
        for i, env in enumerate(envelopes)
        if env.tangent > env.lower and env.lower + 1e-9 * budget < x[i] < env.tangent - 1e-9 * budget
    ]
    if not fractional:
        return
    # Branch on the channel where the chord overstates the curve most.
    gaps = [
        _envelope_at(curves, i, envelopes[i], float(x[i])) - float(curves.one(i, np.array(x[i])))
        for i in fractional
    ]
    j = fractional[int(np.argmax(gaps))]
    total_lower = sum(env.lower for env in envelopes)
    total_upper = sum(env.upper for env in envelopes)
    # What j may take given the others' bounds; an end of the chord outside it is moved inside.
    feasible_lo = max(envelopes[j].lower, budget - (total_upper - envelopes[j].upper))
    feasible_hi = min(envelopes[j].upper, budget - (total_lower - envelopes[j].lower))
    tried: set[float] = set()
    for end in (envelopes[j].lower, envelopes[j].tangent):
        value = min(max(end, feasible_lo), feasible_hi)
        if value not in tried:
            tried.add(value)
            fixed = list(envelopes)
            fixed[j] = _Envelope(value, value, value, 0.0, np.array([value]), np.array([0.0]))
            _branch(curves, fixed, budget, leaves, depth + 1)


def _repair(x: np.ndarray, lower: np.ndarray, upper: np.ndarray, budget: float) -> np.ndarray:
    """Return x clipped to its bounds with the sum restored to ``budget`` using the slack proportionally."""
    x = np.clip(x, lower, upper)
    for _ in range(5):
        gap = budget - x.sum()
        if abs(gap) <= 1e-12 * max(budget, 1.0):
            break
        room = (upper - x) if gap > 0 else (x - lower)
        if room.sum() <= 0:
            break
        x = np.clip(x + gap * room / room.sum(), lower, upper)
    return x


def _polish(curves: _Curves, x0: np.ndarray, envelopes: Sequence[_Envelope], budget: float) -> np.ndarray:
    """Return a local optimum (KKT point) of the true curves near x0.

    Alternates Newton on the current active set with an exchange step: while some channel that can
    take more has a higher marginal return than one that can give (a KKT violation, e.g. a channel at
    a bound that should enter), the budget moved between that pair is optimised exactly in 1-D.
    """
    lower = np.array([env.lower for env in envelopes])
    upper = np.array([env.upper for env in envelopes])
    x = _newton(curves, x0, lower, upper, budget)
    for _ in range(50):
        moved = _exchange(curves, x, lower, upper, budget)
        if moved is None:
            break
        x = _newton(curves, moved, lower, upper, budget)
    return x


def _exchange(
    curves: _Curves, x: np.ndarray, lower: np.ndarray, upper: np.ndarray, budget: float
) -> np.ndarray | None:
    """Return x after the best transfer between the most violating pair, or None if KKT already holds."""
    tol = 1e-9 * budget
    grad = curves.grad(np.maximum(x, 1e-9 * budget))
    takers = np.nonzero(x < upper - tol)[0]
    givers = np.nonzero(x > lower + tol)[0]
    best_pair, best_spread = None, 0.0
    for i in takers[np.argsort(-grad[takers])][:2]:
        for j in givers[np.argsort(grad[givers])][:2]:
            if i != j and grad[i] - grad[j] > best_spread:
                best_pair, best_spread = (int(i), int(j)), float(grad[i] - grad[j])
    if best_pair is None or best_spread <= 1e-9 * max(abs(float(grad.max())), 1e-12):
        return None
    i, j = best_pair
    room = min(upper[i] - x[i], x[j] - lower[j])
    steps = room * np.concatenate([[0.0], np.geomspace(1e-7, 1.0, 80)])

    def pair_value(t: np.ndarray) -> np.ndarray:
        return curves.one(i, x[i] + t) + curves.one(j, x[j] - t)

    values = pair_value(steps)
    k = int(np.argmax(values))
    lo, hi = steps[max(k - 1, 0)], steps[min(k + 1, steps.size - 1)]
    refined = minimize_scalar(
        lambda t: -float(pair_value(np.array(t))),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-10 * max(room, 1e-12)},
    )
    t_best, v_best = steps[k], values[k]
    if refined.success and -refined.fun > v_best:
        t_best, v_best = float(refined.x), -float(refined.fun)
    if v_best <= values[0] + 1e-13 * max(abs(values[0]), 1.0):
        return None
    moved = x.copy()
    moved[i] += t_best
    moved[j] -= t_best
    return _repair(moved, lower, upper, budget)


def _newton(
    curves: _Curves, x0: np.ndarray, lower: np.ndarray, upper: np.ndarray, budget: float
) -> np.ndarray:
    """Return x0 refined to the exact KKT point of the true curves on its active set (Newton on λ).

    Channels at a bound stay there; the others solve f'_c(x_c) = λ with sum(x) = budget, as long as
    their curve is locally concave. That includes a channel inside a chord but past its inflection:
    with a tight budget the true optimum can sit there, where the envelope cannot see it. Each step
    solves the linearised system in closed form, dx_c = (λ - f'_c) / f''_c with λ chosen so the steps
    keep the sum; a channel that leaves its range is clipped and fixed, one that reaches a convex
    part is fixed where it is. (The envelope stage's table interpolation is only ~1e-4 accurate in x.)
    """
    floor = lower
    tol = 1e-10 * budget
    x = x0.copy()
    fixed = (x <= lower + tol) | (x >= upper - tol)
    for _ in range(40):
        free = ~fixed
        if not free.any():
            break
        grad, curvature = curves.grad(x), curves.hess(x)
        concave_enough = curvature < 0
        if not np.all(concave_enough[free]):  # numerically flat: leave such a channel where it is
            fixed |= free & ~concave_enough
            continue
        inv = 1.0 / curvature[free]
        gap = budget - x.sum()
        lam = (gap + np.sum(grad[free] * inv)) / np.sum(inv)
        step = (lam - grad[free]) * inv
        # Near an inflection f'' -> 0 and a full step overshoots; damp big steps (the sum is restored
        # by the next iteration's λ, which targets the remaining gap).
        largest = float(np.max(np.abs(step), initial=0.0))
        if largest > 0.25 * budget:
            step *= 0.25 * budget / largest
        target = x[free] + step
        clipped = np.clip(target, floor[free], upper[free])
        x[free] = clipped
        hit = np.zeros_like(fixed)
        hit[free] = clipped != target
        fixed |= hit
        if not hit.any() and np.max(np.abs(step), initial=0.0) <= tol and abs(gap) <= tol:
            break
    return _repair(x, lower, upper, budget)


def _optimise(
    curves: _Curves, lower: np.ndarray, upper: np.ndarray, budget: float
) -> tuple[np.ndarray, float]:
    """Return (the best allocation found, the envelope upper bound on the optimum)."""
    # Implied bounds first: a channel can never take more than the budget less the others' minimums
    # (nor less than the budget less the others' maximums), and the envelope must be taken over the
    # range the channel can really use, or a chord may end where no allocation can reach.
    lower, upper = lower.copy(), upper.copy()
    for _ in range(2):
        upper = np.minimum(upper, budget - (lower.sum() - lower))
        lower = np.maximum(lower, budget - (upper.sum() - upper))
    upper = np.maximum(upper, lower)  # float noise must not cross them
    envelopes = [_envelope(curves, i, float(lower[i]), float(upper[i])) for i in range(lower.size)]
    leaves: list[np.ndarray] = []
    _branch(curves, envelopes, budget, leaves)
    _, lam = _solve_envelope(envelopes, budget)
    bound = _dual_bound(curves, envelopes, lam, budget)
    best_x, best_value = None, -math.inf
    for leaf in leaves:
        candidate = _repair(leaf, lower, upper, budget)
        for x in (candidate, _polish(curves, candidate, envelopes, budget)):
            value = float(curves.value(x).sum())
            if best_x is None or value > best_value + 1e-12 * abs(best_value):
                best_x, best_value = x, value
    assert best_x is not None
    # Weak duality holds at any λ: the best allocation's own marginal return (interior channels) is
    # usually a sharper multiplier than the bisection's table-based one.
    interior = (best_x > lower + 1e-9 * budget) & (best_x < upper - 1e-9 * budget)
    if interior.any():
        lam_found = float(np.median(curves.grad(best_x)[interior]))
        if lam_found > 0:
            bound = min(bound, _dual_bound(curves, envelopes, lam_found, budget))
    return best_x, bound


def _to_cents(
    x: np.ndarray, lower: np.ndarray, upper: np.ndarray, budget_cents: int, marginal: np.ndarray
) -> np.ndarray:
    """Return integer cents within bounds summing to ``budget_cents`` exactly (deterministic remainder)."""
    lo = np.ceil(np.round(lower * 100.0, 6)).astype(np.int64)
    hi = np.floor(np.round(upper * 100.0, 6)).astype(np.int64)
    cents = np.clip(np.round(x * 100.0).astype(np.int64), lo, hi)
    remainder = int(budget_cents - cents.sum())
    # Highest marginal return first when adding, lowest first when taking away; ties by channel order.
    order = sorted(range(x.size), key=lambda i: (-marginal[i], i))
    if remainder < 0:
        order = order[::-1]
    for i in order:
        if remainder == 0:
            break
        if remainder > 0:
            step = min(remainder, int(hi[i] - cents[i]))
        else:
            step = -min(-remainder, int(cents[i] - lo[i]))
        cents[i] += step
        remainder -= step
    if remainder != 0:  # cannot happen once feasibility was checked in cents; never return a wrong sum
        raise InfeasibleConstraintsError(
            "bounds leave no way to place the last cents", [f"{remainder} cents unplaced"]
        )
    return cents


# --------------------------------------------------------------------------------------------------
# The public tool.
# --------------------------------------------------------------------------------------------------


@dataclass
class _Bounds:
    lower: dict[str, float]
    upper: dict[str, float]
    lower_source: dict[str, str]  # "min_spend" | "min_share" | "none"
    upper_source: dict[str, str]  # "max_spend" | "budget"
    share: float
    notes: list[str]
    flags: list[Flag]


def allocate_budget(
    curves: CurveSet,
    *,
    budget: float,
    weeks: int,
    channels: Sequence[str],
    min_spend: Mapping[str, float] | None = None,
    max_spend: Mapping[str, float] | None = None,
    excluded: Sequence[str] | None = None,
    min_share: float = 0.05,
    objective: Objective = "revenue",
    average_order_value: float | None = None,
    currency: str | None = None,
    spend_all: bool = False,
) -> AllocationResult:
    """Return the allocation of ``budget`` over ``weeks`` that maximises expected incremental outcome.

    The budget is also read as a cap: ``recommended_total`` is the total where the best split's marginal
    ROI crosses 1 (the budget when ``spend_all`` or when it never does), each allocation's
    ``recommended_spend`` its share of it, and ``frontier`` the best outcome per total spend.

    Constraints: spends sum to the budget exactly (in cents); per-channel min/max from the arguments
    and the curve set's catalog bounds (campaign totals); ``excluded`` channels get 0; every other
    channel in ``channels`` gets at least ``min_share`` of the budget (relaxed, with a flag and a note,
    when the floors cannot all fit). ``objective="conversions"`` counts conversions: from conversion
    curves directly, or revenue / ``average_order_value``. Raises InfeasibleConstraintsError (with the
    conflicting constraints named) for budget <= 0, mins above the budget, a max below a min, all
    channels excluded, a min on an excluded channel or maxima that cannot absorb the budget;
    UnknownChannelError for a channel without a curve; AllocationError for other bad arguments.
    """
    started = time.perf_counter()
    weeks = _check_args(budget, weeks, min_share, objective, average_order_value)
    order = list(dict.fromkeys(channels))
    if not order:
        raise AllocationError("no channels given to allocate over")
    chosen = {c: curves.get(c) for c in order}  # UnknownChannelError names any unknown id
    excluded_set = set(excluded or [])
    for channel in excluded_set:
        curves.get(channel)
    min_spend, max_spend = dict(min_spend or {}), dict(max_spend or {})
    notes: list[str] = []
    for name, mapping in (("min_spend", min_spend), ("max_spend", max_spend)):
        for channel, value in list(mapping.items()):
            curves.get(channel)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise AllocationError(f"{name}[{channel}] must be a finite number >= 0, got {value!r}")
            if channel not in chosen and channel not in excluded_set:
                if name == "min_spend" and value > 0:
                    raise InfeasibleConstraintsError(
                        "the budget constraints cannot all hold",
                        [
                            f"min_spend[{channel}]={value:,.2f} but {channel} is not among "
                            f"the channels {order}"
                        ],
                    )
                # A cap on a channel that gets nothing anyway holds trivially.
                notes.append(f"{name}[{channel}] ignored: {channel} is not among the channels allocated")
                del mapping[channel]
    scale, unit_note = _objective_scale(curves.outcome, objective, average_order_value)
    budget_cents = round(budget * 100)
    budget = budget_cents / 100.0
    active = [c for c in order if c not in excluded_set]
    bounds = _bounds(chosen, active, excluded_set, budget, min_spend, max_spend, min_share)

    solver = _Curves.build([chosen[c] for c in active], weeks, scale)
    lower = np.array([bounds.lower[c] for c in active])
    upper = np.array([bounds.upper[c] for c in active])
    x, bound = _optimise(solver, lower, upper, budget)
    cents = _to_cents(x, lower, upper, budget_cents, solver.grad(np.maximum(x, 0.01)))
    spends = dict(zip(active, (int(v) / 100.0 for v in cents), strict=True))
    spends.update({c: 0.0 for c in order if c in excluded_set})

    allocations, outcomes, chart, all_draws = [], [], {}, []
    flags = list(bounds.flags)
    for channel in order:
        curve, spend = chosen[channel], spends[channel]
        expected = float(curve.campaign_response(spend, weeks)) * scale
        # At zero spend an S-curve's marginal is 0 and a concave one's is infinite; report it a cent in.
        marginal = float(curve.marginal_roi(max(spend, 0.01), weeks)) * scale
        draws = curve.campaign_response_samples(spend, weeks) * scale
        all_draws.append(draws)
        binding = _binding(channel, spend, bounds, excluded_set)
        allocations.append(
            Allocation(
                channel=channel,
                spend=spend,
                expected_outcome=round(expected, 2),
                marginal_roi=round(marginal, 6),
                binding=binding,
                source=curve.source,
            )
        )
        revenue_per_unit = scale if objective == "revenue" else scale * (average_order_value or 0.0)
        saturation_spend = (
            curve.spend_at_marginal_roi(1.0 / revenue_per_unit, weeks) if revenue_per_unit > 0 else None
        )
        outcomes.append(
            ChannelOutcome(
                channel=channel,
                spend=spend,
                expected_outcome=round(expected, 2),
                interval_80=_interval(draws, 0.80),
                interval_95=_interval(draws, 0.95),
                source=curve.source,
                spend_at_marginal_roi_1=None if saturation_spend is None else round(saturation_spend, 2),
            )
        )
        if channel in excluded_set:
            continue
        top = max(2.0 * spend, budget / max(len(active), 1), saturation_spend or 0.0)
        chart[channel] = [
            ResponseCurvePoint(spend=p.spend, outcome=round(p.outcome * scale, 2))
            for p in curve.points(top, _CHART_POINTS, weeks=weeks, include=[spend])
        ]
        flags += _channel_flags(
            curve,
            spend,
            weeks,
            marginal * revenue_per_unit / scale if scale else 0.0,
            saturation_spend,
            currency,
            objective,
        )
    flags += _fit_flags(curves, [c for c in active if chosen[c].source == "response_curve"])
    frontier = _frontier(solver, active, chosen, min_spend, upper, budget, objective, scale,
                         average_order_value, spend_all)
    for allocation, outcome in zip(allocations, outcomes, strict=True):
        allocation.spend_at_marginal_roi_1 = outcome.spend_at_marginal_roi_1
        allocation.recommended_spend = frontier.recommended_spends.get(allocation.channel, 0.0)
    total = float(sum(o.expected_outcome for o in outcomes))
    totals = _sum_draws(all_draws)
    notes += [*bounds.notes, *([unit_note] if unit_note else []), *curves.notes]
    achieved = float(solver.value(x).sum())
    # The envelope is exact for convex-then-concave curves; if it ever fell below what an allocation
    # achieves, the certificate is void: say so rather than report a false bound.
    certified = bound >= achieved - 1e-8 * max(abs(achieved), 1.0)
    if not certified:
        notes.append("optimality certificate unavailable: a curve is not convex-then-concave on its range")
    gap = max((bound - achieved) / abs(bound), 0.0) if certified and bound else 0.0
    return AllocationResult(
        objective=objective,
        budget=budget,
        weeks=weeks,
        currency=currency,
        allocations=allocations,
        outcomes=outcomes,
        total_expected=round(total, 2),
        total_interval_80=_interval(totals, 0.80),
        total_interval_95=_interval(totals, 0.95),
        curves=chart,
        flags=flags,
        min_share=bounds.share,
        upper_bound=math.ceil(max(bound, achieved) * 100) / 100 if certified else None,  # up: still a bound
        optimality_gap_bound=gap if certified else None,
        method="concave-envelope KKT (bisection on marginal return) + chord branching + Newton KKT polish",
        notes=notes,
        seconds=round(time.perf_counter() - started, 4),
        frontier=frontier.points,
        recommended_total=frontier.recommended_total,
        recommended_outcome=frontier.recommended_outcome,
        unallocated_return=(
            None if frontier.recommended_outcome is None
            else round(frontier.outcome_at_budget - frontier.recommended_outcome, 2)
        ),
        spend_all=spend_all,
        recommendation_note=frontier.note,
    )


def _frontier(
    solver: _Curves,
    active: list[str],
    chosen: Mapping[str, ResponseCurve],
    min_spend: Mapping[str, float],
    upper: np.ndarray,
    budget: float,
    objective: Objective,
    scale: float,
    average_order_value: float | None,
    spend_all: bool,
) -> Any:
    """The efficient frontier over the hard lower bounds (brief and catalog minimums, no min_share floor)."""
    from campaign_planner.tools.budget_frontier import efficient_frontier

    hard_lower = np.array([
        min(max(min_spend.get(c, 0.0), chosen[c].min_spend or 0.0), float(upper[i])) for i, c in enumerate(active)
    ])
    money = 1.0 if objective == "revenue" else average_order_value
    return efficient_frontier(solver, active, hard_lower, upper, budget, money, spend_all=spend_all)


def allocate_for_shop(
    shop: Shop,
    *,
    budget: float,
    weeks: int,
    channels: Sequence[str],
    min_spend: Mapping[str, float] | None = None,
    max_spend: Mapping[str, float] | None = None,
    excluded: Sequence[str] | None = None,
    min_share: float = 0.05,
    objective: Objective = "revenue",
    average_order_value: float | None = None,
    use_cache: bool = True,
    spend_all: bool = False,
) -> AllocationResult:
    """Fit (or load cached) response curves for ``shop`` and return ``allocate_budget`` on them.

    For ``objective="conversions"`` conversion curves are fitted where the history has a
    ``conversions`` column; otherwise revenue curves are divided by the average order value (the
    argument, else the shop's, declared or estimated: ``data/order_value.py``). Raises what
    ``fit_response_curves`` and ``allocate_budget`` raise.
    """
    history = shop.channel_history
    outcome: Outcome = (
        "conversions"
        if objective == "conversions" and history is not None and "conversions" in history.columns
        else "revenue"
    )
    if average_order_value is None:
        average_order_value = shop_order_value(shop.campaign_spec, shop.campaign_history).value
    curves = fit_response_curves(shop, outcome=outcome, use_cache=use_cache)
    return allocate_budget(
        curves,
        budget=budget,
        weeks=weeks,
        channels=channels,
        min_spend=min_spend,
        max_spend=max_spend,
        excluded=excluded,
        min_share=min_share,
        objective=objective,
        average_order_value=average_order_value,
        currency=shop.currency,
        spend_all=spend_all,
    )


# --------------------------------------------------------------------------------------------------
# Argument checks, bounds and flags.
# --------------------------------------------------------------------------------------------------


def _check_args(
    budget: float, weeks: int, min_share: float, objective: str, average_order_value: float | None
) -> int:
    if not isinstance(budget, int | float) or isinstance(budget, bool) or not math.isfinite(budget):
        raise InfeasibleConstraintsError("invalid budget", [f"budget={budget!r} is not a finite number"])
    if round(budget * 100) <= 0:
        raise InfeasibleConstraintsError("nothing to allocate", [f"budget={budget} <= 0"])
    if isinstance(weeks, bool) or not isinstance(weeks, int | np.integer) or weeks < 1:
        raise AllocationError(f"weeks must be a whole number >= 1, got {weeks!r}")
    if not isinstance(min_share, int | float) or not 0.0 <= min_share < 1.0:
        raise AllocationError(f"min_share must be in [0, 1), got {min_share!r}")
    if objective not in ("revenue", "conversions"):
        raise AllocationError(f"objective must be 'revenue' or 'conversions', got {objective!r}")
    if average_order_value is not None and (
        not math.isfinite(average_order_value) or average_order_value <= 0
    ):
        raise AllocationError(f"average_order_value must be > 0, got {average_order_value!r}")
    return int(weeks)


def _objective_scale(outcome: Outcome, objective: Objective, aov: float | None) -> tuple[float, str | None]:
    """Return the factor from curve units to objective units, and a note when an AOV conversion is used."""
    if outcome == objective:
        return 1.0, None
    if aov is None:
        raise AllocationError(
            f"objective {objective!r} needs average_order_value: the curves measure {outcome}"
        )
    if objective == "conversions":
        return 1.0 / aov, f"conversions = revenue curves / average order value {aov:,.2f}"
    return aov, f"revenue = conversion curves x average order value {aov:,.2f}"


def _bounds(  # noqa: C901 - one pass over the constraint sources; splitting it scatters the conflict messages
    chosen: Mapping[str, ResponseCurve],
    active: list[str],
    excluded: set[str],
    budget: float,
    min_spend: Mapping[str, float],
    max_spend: Mapping[str, float],
    min_share: float,
) -> _Bounds:
    conflicts: list[str] = []
    for channel in sorted(excluded):
        if min_spend.get(channel, 0.0) > 0:
            conflicts.append(f"min_spend[{channel}]={min_spend[channel]:,.2f} on excluded channel {channel}")
    if not active:
        conflicts.append(f"all channels excluded ({', '.join(sorted(excluded & set(chosen)))})")
    lower: dict[str, float] = {}
    upper: dict[str, float] = {}
    lower_source: dict[str, str] = {}
    upper_source: dict[str, str] = {}
    for channel in active:
        curve = chosen[channel]
        lo, lo_from = 0.0, "none"
        for value, origin in ((min_spend.get(channel), "min_spend"), (curve.min_spend, "catalog min_spend")):
            if value is not None and value > lo:
                lo, lo_from = float(value), origin
        hi, hi_from = budget, "budget"
        for value, origin in ((max_spend.get(channel), "max_spend"), (curve.max_spend, "catalog max_spend")):
            if value is not None and value < hi:
                hi, hi_from = float(value), origin
        if hi < lo:
            conflicts.append(f"{hi_from}[{channel}]={hi:,.2f} is below {lo_from}[{channel}]={lo:,.2f}")
        lower[channel], upper[channel] = lo, hi
        lower_source[channel] = "min_spend" if lo_from != "none" else "none"
        upper_source[channel] = "max_spend" if hi_from != "budget" else "budget"
    if active and not conflicts:
        total_min = sum(lower.values())
        if total_min > budget + 1e-9:
            named = ", ".join(f"{c} {lower[c]:,.2f}" for c in active if lower[c] > 0)
            conflicts.append(
                f"sum of min_spend ({total_min:,.2f}: {named}) exceeds the budget ({budget:,.2f})"
            )
        total_max = sum(upper.values())
        if total_max < budget - 1e-9:
            named = ", ".join(f"{c} {upper[c]:,.2f}" for c in active)
            conflicts.append(
                f"sum of max_spend ({total_max:,.2f}: {named}) is below the budget ({budget:,.2f}), "
                f"so the budget cannot be spent"
            )
    if conflicts:
        raise InfeasibleConstraintsError("the budget constraints cannot all hold", conflicts)

    notes: list[str] = []
    flags: list[Flag] = []
    share = _floor_share(lower, upper, budget, min_share, active)
    if share < min_share:
        message = (
            f"min_share {min_share:.1%} for {len(active)} channels does not fit the budget with the other "
            f"bounds; relaxed to {share:.2%} so floors take at most {RELAXED_FLOOR_TOTAL:.0%} of it"
        )
        notes.append(message)
        flags.append(Flag(code=FlagCode.INFEASIBLE_CONSTRAINTS, message=message))
    # Floors in whole cents: rounded up so "at least min_share" holds, down if rounding up overfills.
    budget_cents = round(budget * 100)
    floor = math.ceil(share * budget_cents - 1e-6) / 100.0
    if sum(max(lower[c], min(floor, upper[c])) for c in active) > budget + 1e-9:
        floor = math.floor(share * budget_cents + 1e-6) / 100.0
    for channel in active:
        if floor > lower[channel]:
            if floor > upper[channel]:
                notes.append(
                    f"{channel}: min_share floor {floor:,.2f} is above its max_spend "
                    f"{upper[channel]:,.2f}; the max wins"
                )
            lower[channel] = min(floor, upper[channel])
            lower_source[channel] = "min_share"
    return _Bounds(lower, upper, lower_source, upper_source, share, notes, flags)


def _floor_share(
    lower: Mapping[str, float], upper: Mapping[str, float], budget: float, min_share: float, active: list[str]
) -> float:
    """Return min_share, or the largest smaller share whose floors fit (taking at most half the budget)."""

    def floors(share: float) -> float:
        return sum(max(lower[c], min(share * budget, upper[c])) for c in active)

    if floors(min_share) <= budget * (1 + 1e-12):
        return min_share
    target = max(RELAXED_FLOOR_TOTAL * budget, sum(lower.values()))
    lo, hi = 0.0, min_share
    for _ in range(60):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if floors(mid) <= target else (lo, mid)
    return math.floor(lo * 1e6) / 1e6


def _binding(channel: str, spend: float, bounds: _Bounds, excluded: set[str]) -> list[str]:
    if channel in excluded:
        return ["excluded"]
    binding = []
    cents = round(spend * 100)
    lo, hi = bounds.lower[channel], bounds.upper[channel]
    if bounds.lower_source[channel] != "none" and cents <= math.ceil(round(lo * 100, 6)):
        binding.append(bounds.lower_source[channel])
    if bounds.upper_source[channel] == "max_spend" and cents >= math.floor(round(hi * 100, 6)):
        binding.append("max_spend")
    return binding


def _channel_flags(
    curve: ResponseCurve,
    spend: float,
    weeks: int,
    marginal_revenue: float,
    saturation_spend: float | None,
    currency: str | None,
    objective: str,
) -> list[Flag]:
    money = (lambda v: f"{v:,.0f} {currency}") if currency else (lambda v: f"{v:,.0f}")
    flags: list[Flag] = []
    if spend > 0:
        if saturation_spend is None:
            flags.append(keyed_flag(FlagCode.SATURATION, "flag_no_break_even", channel=curve.channel,
                                    measure="revenue per unit", measure_zh="每单位收入",
                                    marginal=f"{marginal_revenue:.2f}", spend=money(spend), converted=""))
        elif spend > saturation_spend:
            flags.append(keyed_flag(FlagCode.SATURATION, "flag_saturated", channel=curve.channel,
                                    spend=money(spend), weeks=weeks, limit=money(saturation_spend),
                                    marginal=f"{marginal_revenue:.3f}", converted=""))
    if curve.source == "prior":
        flags.append(keyed_flag(FlagCode.WEAK_EVIDENCE, "flag_prior_curve", channel=curve.channel,
                                objective=objective))
    elif (
        curve.observed_max_weekly_spend
        and spend / weeks > EXTRAPOLATION_FACTOR * curve.observed_max_weekly_spend
    ):
        flags.append(keyed_flag(FlagCode.WEAK_EVIDENCE, "flag_extrapolated", channel=curve.channel,
                                weekly=money(spend / weeks), observed=money(curve.observed_max_weekly_spend)))
    return flags


def _fit_flags(curves: CurveSet, fitted_channels: list[str]) -> list[Flag]:
    fit = curves.fit
    if not fitted_channels or fit is None or fit.r2_holdout is None or fit.r2_holdout >= WEAK_FIT_R2:
        return []
    return [keyed_flag(FlagCode.WEAK_EVIDENCE, "flag_weak_fit", r2=f"{fit.r2_holdout:.2f}", holdout=fit.n_holdout,
                       channels=", ".join(fitted_channels))]


def _sum_draws(draws: list[np.ndarray]) -> np.ndarray:
    """Add per-draw outcomes across channels, draw i with draw i (fitted channels' draws are joint).

    Sets of different sizes (a curve without draws has one) are aligned by cycling the shorter ones.
    """
    size = max(d.size for d in draws)
    return np.sum([np.resize(d, size) for d in draws], axis=0)


def _interval(draws: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(draws, [tail, 1.0 - tail])
    return round(float(lo), 2), round(float(hi), 2)
