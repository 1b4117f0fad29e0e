"""The client's resources, one module per AX resource."""
