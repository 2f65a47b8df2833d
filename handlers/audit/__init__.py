"""Who may act on a programme, and the audit log of what coordinators did."""
