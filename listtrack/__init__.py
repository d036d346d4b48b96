"""listtrack core: configuration, data model and tracking rules, shared by every front door."""
