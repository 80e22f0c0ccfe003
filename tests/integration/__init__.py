"""Tests against real dependencies: the Firestore emulator, SQLite, the tiny model, subprocesses."""
