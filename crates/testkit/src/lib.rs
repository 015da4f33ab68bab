//! Test support: proptest strategies, random platforms, the scenario harness.
