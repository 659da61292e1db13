"""Charging domain: ports, sessions with budgets, tariffs, protections, pile limits, journal."""
