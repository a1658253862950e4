"""The Go domain: toolchain, environment, builds, test and bench output; no scheduler."""
