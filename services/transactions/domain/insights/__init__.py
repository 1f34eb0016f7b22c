"""Money management: categories and customers' rules, spending aggregates, budgets, insights."""
