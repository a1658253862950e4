"""Go SDK installs: releases, verified downloads, atomic installs, per-project selection."""
