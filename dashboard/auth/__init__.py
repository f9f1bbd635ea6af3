"""Access to the dashboard and its API: passwords, sessions, CSRF, login rate limits, API tokens, the request guard.

Roles and scopes are pure (``synopse.domain.access``); their SQL is in ``synopse.db.access``. This package
turns an HTTP request into a :class:`~synopse.domain.access.Principal` (session cookie or bearer token) and
refuses what it may not do, before Dash or the API sees the request.
"""
