"""The bottom layer: errors, files and locks, console output, units, YAML with line
numbers and its schema, cancellation. It imports nothing else of gotasks, so every other
layer (the engine, the Go domain, the app) may use it."""
