"""``dallinger.experiment_server`` on heron: only its ``dashboard`` module."""
