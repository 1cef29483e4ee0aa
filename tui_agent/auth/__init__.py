"""Authentication: the resolver (the chain), credential store, credential look-up and login flows."""
