"""OneClick SSO: starting a ClassLink login, finishing it, and explaining refusals."""
