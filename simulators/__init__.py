"""Simulated devices that stand in for real hardware in the demo and the tests."""
