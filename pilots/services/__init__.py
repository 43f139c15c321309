"""Every state change of user panels, one module per part. Views, commands and tasks call these."""
