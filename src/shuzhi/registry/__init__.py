"""Base registries (一人一档, 一企一档): records linked across departments into entries with golden records."""
