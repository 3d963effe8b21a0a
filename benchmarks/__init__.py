"""Benchmarks of lossopt against torch's own implementations, over the conformance registry's names."""
