"""Automated workflows: scheduled and recurring transfers, bills, rewards, the run-due runner (Flask-free)."""
