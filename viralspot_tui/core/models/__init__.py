"""Domain models shared by every part of the core (pydantic v2, UI-free)."""
