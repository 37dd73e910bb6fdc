"""``python -m campaign_planner`` runs the CLI."""

from campaign_planner.cli import main

main()
