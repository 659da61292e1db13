"""Connectivity: link manager (Wi-Fi first, cellular fallback), modem AT driver, time, data budget."""
