"""The REST API: one router per resource (``orders``, ``market``, ``account``, ``risk``,
``health``, ``audit``); each is a thin layer over ``wintermute.service.venue.Venue`` (the
audit routes over the service's ``wintermute.storage.audit_trail.AuditTrail``)."""
