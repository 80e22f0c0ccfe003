"""End to end: signed HTTP through the real bot and the real model service, a fake Slack."""
