"""The composition root and the `stagegate` command: plugs the sales domain into the engine."""
