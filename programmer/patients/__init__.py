"""Patients: their details (versioned), their pumps over time, trials and visits."""
