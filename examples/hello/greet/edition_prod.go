//go:build prod

package greet

// Edition names the build flavour; this file is selected by -tags prod.
const Edition = "prod"
