//go:build !prod

package greet

// Edition names the build flavour; building with -tags prod selects "prod".
const Edition = "default"
