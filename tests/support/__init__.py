"""Shared fakes and writers for the tests (imported as ``tests.support.*``; no tests here)."""
