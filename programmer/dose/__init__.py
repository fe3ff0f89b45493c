"""The dose rules, one module per rule family; `programmer.planner` orchestrates them.

Import order (no cycles): context <- names, concentration, daily, starting, titration,
refill, boluses <- profile. No module here imports the planner.
"""
