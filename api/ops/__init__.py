"""Running Jifen: the command line, configuration, the demo brand, the scheduler, logs and metrics,
tracing, and the wiring of services (the composition root)."""
