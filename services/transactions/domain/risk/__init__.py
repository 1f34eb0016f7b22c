"""Risk rules on transfers (API.md "Risk: rules and reviews"), issue 16: the rules and their
evaluation (rules.py, pure); the aggregates they read, the review queue and the hook in the
posting path come next."""
