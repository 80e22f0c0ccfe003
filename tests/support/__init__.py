"""Test support: the fake Slack harness, the Firestore emulator fixtures, service helpers."""
