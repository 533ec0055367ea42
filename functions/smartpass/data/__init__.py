"""PynamoDB models. Each module states its access patterns next to the model."""
