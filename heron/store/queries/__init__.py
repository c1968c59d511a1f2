"""Read (and small write) queries over the store, one module per concern or page."""
