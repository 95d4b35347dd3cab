"""HOW to talk to each device: transports, protocols, drivers and their simulators."""
