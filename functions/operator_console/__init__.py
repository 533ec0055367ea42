"""Read-only status pages over the HTTP API: the operators' (IAM-signed) and a district's own."""
