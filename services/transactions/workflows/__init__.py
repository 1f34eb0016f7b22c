"""Automated workflows: scheduled and recurring transfers (Flask-free)."""
