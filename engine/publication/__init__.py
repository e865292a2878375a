"""公示: publishing decisions, masked, and the recognisers that mask them."""
