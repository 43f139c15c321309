"""Every state change of pre-commercial procurement, one module per part. Views, the admin, commands and
tasks call these functions."""
