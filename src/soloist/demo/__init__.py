"""The demo business: a client of the domain, like an interface."""
