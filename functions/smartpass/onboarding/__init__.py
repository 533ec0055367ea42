"""Onboarding: noticing districts in the Partner API and connecting them."""
