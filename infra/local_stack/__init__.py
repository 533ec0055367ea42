"""The local stack: moto server as embedded AWS, resources created from template.yaml, and the
template's events delivered to the real handler functions. Never packaged into a Lambda."""
