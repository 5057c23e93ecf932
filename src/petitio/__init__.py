"""Petitio: e-petitions addressed to an authority that can act on them."""
