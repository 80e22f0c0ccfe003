"""Fast tests of pure modules: no network, no store, no model, no process (seconds)."""
