"""Plan-quality evaluations: briefs with machine-checkable expectations, scored deterministically."""
