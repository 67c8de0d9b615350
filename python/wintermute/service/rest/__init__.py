"""The REST API: one router per resource (``orders``, ``market``, ``account``, ``risk``,
``health``); each is a thin layer over ``wintermute.service.venue.Venue``."""
