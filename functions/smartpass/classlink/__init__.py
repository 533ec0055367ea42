"""HTTP clients for ClassLink's APIs. They know ClassLink, not our domain (never import it)."""
