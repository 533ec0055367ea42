"""SmartPass <-> ClassLink domain: settings, data, ClassLink clients. Knows nothing of Lambda."""
