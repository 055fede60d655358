"""A small domain (notes) added from outside the platform, through the same hooks as the built-in ones."""
