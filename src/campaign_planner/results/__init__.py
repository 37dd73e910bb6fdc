"""Campaign results: what happened after a plan was approved, and how it reads against the plan.

``files`` reads and validates result exports (per-period channel results, per-customer holdout outcomes);
``storage`` keeps them with the thread in the run-record store (new tables, never the checkpoint blobs);
``readout`` measures each channel by the plan's own measurement design; ``simulate`` makes in-flight
results from the demo shop's planted truth; ``service`` is the one entry point the CLI and the API use.
"""
