"""PyMC-Marketing's BudgetOptimizer on the budget problems exported by bench_response_curves.py.

Runs in a SEPARATE benchmark venv (never the product's, never CI); it imports nothing from
``campaign_planner``, only ``numpy``, ``pymc``, ``arviz``, ``xarray`` and ``pymc_marketing``::

    /root/.pyenv/versions/3.11.7/bin/python -m venv /work/pymc-venv
    /work/pymc-venv/bin/pip install -r bench/pymc_env/requirements.txt   # pymc-marketing==0.19.2

The pipeline (three commands; the first and last run in the product venv)::

    /work/venv/bin/python bench/bench_response_curves.py --export /tmp/cp_pymc/problems.json
    /work/pymc-venv/bin/python bench/bench_pymc_budget.py /tmp/cp_pymc/problems.json /tmp/cp_pymc/pymc.json
    /work/venv/bin/python bench/bench_response_curves.py --compare /tmp/cp_pymc/problems.json /tmp/cp_pymc/pymc.json

How each problem is put in PyMC-Marketing's terms, with no MCMC:

* The curves are built from PyMC-Marketing's own components, ``GeometricAdstock(l_max=weeks,
  normalize=False)`` then ``HillSaturation()`` (``beta * x^slope / (x^slope + kappa^slope)``), applied
  along ``date`` to a ``channel_data`` variable, as their MMM's ``forward_pass`` does. These are exactly our
  curves: our adstock is the un-normalised geometric sum, and with ``l_max >= weeks`` a campaign that
  starts from zero carry-over sees the same adstock; ``kappa`` is our half-saturation.
* The fitted point values are supplied as a posterior of one chain and one draw (``adstock_alpha``,
  ``saturation_slope``, ``saturation_kappa``, ``saturation_beta`` by channel) in an ``InferenceData``;
  the optimizer substitutes posterior values for the free variables, so no sampling happens.
* The model goes through their documented ``CustomModelWrapper`` to ``BudgetOptimizer(num_periods=weeks,
  response_variable="total_contribution")`` with the default utility (mean response) and the default
  solver (SLSQP, ftol 1e-9, maxiter 1000, start: the even split). The wrapper's ``l_max = 0`` means no
  carry-over tail is appended after the campaign, as in our objective; ``total_contribution`` sums the
  campaign's weeks, so both optimisers maximise the same number.
* Their budgets are per period: ``total_budget = budget / weeks`` and bounds ``/ weeks``; the allocation is
  multiplied back by ``weeks`` into campaign totals.

Timing: ``build_seconds`` is the ``BudgetOptimizer`` construction (graph rewrite + compiling the objective
and gradient; pytensor compiles C with g++, cached on disk after the first time), ``solve_seconds`` the
``allocate_budget`` call (SLSQP), median of ``--repeats`` calls. The comparison step evaluates both
allocations with our curve functions.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np


def build_optimizer(problem: dict):  # -> BudgetOptimizer (imported lazily)
    import arviz as az
    import pymc as pm
    import pymc.dims as pmd
    import xarray as xr
    from pymc_marketing.mmm import GeometricAdstock, HillSaturation
    from pymc_marketing.mmm.budget_optimizer import BudgetOptimizer, CustomModelWrapper

    weeks, channels = int(problem["weeks"]), list(problem["channels"])
    coords = {"date": np.arange(weeks), "channel": channels}
    with pm.Model(coords=coords) as model:
        data = pmd.Data("channel_data", np.zeros((weeks, len(channels))), dims=("date", "channel"))
        adstock = GeometricAdstock(l_max=weeks, normalize=False).set_dims_for_all_priors("channel")
        saturation = HillSaturation().set_dims_for_all_priors("channel")
        contribution = saturation.apply(adstock.apply(data, core_dim="date"), core_dim="date")
        pmd.Deterministic("campaign_channel_contribution", contribution.transpose("date", ...))
        pmd.Deterministic("total_contribution", contribution.sum())
    names = {
        "saturation_beta": "beta",
        "saturation_kappa": "half_saturation",
        "saturation_slope": "slope",
        "adstock_alpha": "decay",
    }
    free = sorted(v.name for v in model.free_RVs)
    if free != sorted(names):
        raise RuntimeError(f"unexpected PyMC-Marketing parameter names {free}; expected {sorted(names)}")
    posterior = xr.Dataset(
        {
            name: (("chain", "draw", "channel"), [[[problem["curves"][c][ours] for c in channels]]])
            for name, ours in names.items()
        },
        coords={"chain": [0], "draw": [0], "channel": channels},
    )
    wrapper = CustomModelWrapper(base_model=model, idata=az.InferenceData(posterior=posterior), channels=channels)
    return BudgetOptimizer(model=wrapper, num_periods=weeks, response_variable="total_contribution")


def solve(problem: dict, repeats: int) -> dict:
    from pymc_marketing.mmm.budget_optimizer import MinimizeException

    weeks = int(problem["weeks"])
    started = time.perf_counter()
    optimizer = build_optimizer(problem)
    build_seconds = time.perf_counter() - started
    bounds = {c: (lo / weeks, hi / weeks) for c, (lo, hi) in problem["bounds"].items()}
    times, allocation, result, error = [], None, None, None
    for _ in range(repeats):
        started = time.perf_counter()
        try:
            allocation, result = optimizer.allocate_budget(
                total_budget=problem["budget"] / weeks, budget_bounds=bounds, return_if_fail=True
            )
        except MinimizeException as exc:  # only without return_if_fail; kept for clarity
            error = str(exc)
        times.append(time.perf_counter() - started)
    if allocation is None or result is None:
        return {"id": problem["id"], "success": False, "message": error or "no result", "allocation": {}}
    return {
        "id": problem["id"],
        "allocation": {
            c: float(v) * weeks for c, v in zip(allocation.coords["channel"].values, allocation.values, strict=True)
        },
        "their_objective": float(-result.fun),
        "success": bool(result.success),
        "message": str(result.message),
        "iterations": int(result.nit),
        "build_seconds": build_seconds,
        "solve_seconds": statistics.median(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("problems", type=Path, help="JSON written by bench_response_curves.py --export")
    parser.add_argument("results", type=Path, help="where to write PyMC-Marketing's allocations (JSON)")
    parser.add_argument("--repeats", type=int, default=5, help="allocate_budget calls timed per problem")
    parser.add_argument("--only", help="comma-separated problem ids (default: all)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # default-constraint and default-bounds UserWarnings on every call

    import pymc
    import pymc_marketing

    problems = json.loads(args.problems.read_text())["problems"]
    if args.only:
        wanted = set(args.only.split(","))
        problems = [p for p in problems if p["id"] in wanted]
    results = []
    for problem in problems:
        result = solve(problem, args.repeats)
        results.append(result)
        print(
            f"# {problem['id']}: success={result['success']} build {result.get('build_seconds', 0):.1f}s "
            f"solve {1000 * result.get('solve_seconds', 0):.1f}ms ({result.get('message')})",
            flush=True,
        )
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(
        json.dumps(
            {
                "pymc_marketing_version": pymc_marketing.__version__,
                "pymc_version": pymc.__version__,
                "results": results,
            },
            indent=1,
        )
    )
    print(f"pymc_problems_solved={sum(r['success'] for r in results)}")
    print(f"pymc_problems={len(results)}")


if __name__ == "__main__":
    main()
