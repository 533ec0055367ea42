"""What operators ask of the system (CLI and status page): overviews, actions, checks; no Lambda imports."""
