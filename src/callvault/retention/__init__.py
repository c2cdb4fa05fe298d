"""Retention policies: erasure by age, asked by no one (contract §15)."""
