"""The hotline commands, one module each, and the wiring they share."""
