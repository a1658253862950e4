//go:build prod

package greet

const wantEdition = "prod"
