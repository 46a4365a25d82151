"""Research benches: how the scoring recipes were chosen. Findings in README.md here."""
